package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/config"
)

// The security bounds have their documented defaults, and sizes read
// as bytes or with a KiB/MiB/GiB suffix.
func TestLimitsDefaultsAndSizes(t *testing.T) {
	c, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Search.MaxQueryBytes != 16<<10 || c.Server.MaxBodyBytes != 1<<20 || c.Shards.MaxAnswerBytes != 256<<20 ||
		c.Server.ReadTimeout.Duration != time.Minute || c.Server.WriteTimeout.Duration != 2*time.Minute ||
		c.Server.IdleTimeout.Duration != 2*time.Minute || c.Consul.ShardTag != "shearch" || c.Consul.ShardScheme != "https" {
		t.Fatalf("defaults: %+v %+v %+v %+v", c.Search, c.Server, c.Shards, c.Consul)
	}
	c, err = config.Parse([]byte("search:\n  max_query_bytes: 4096\nserver:\n  max_body_bytes: 2MiB\nshards:\n  max_answer_bytes: 1GiB\n" +
		"consul:\n  shard_tag: chef-shard\n  shard_scheme: http\ntls:\n  cert_file: c.pem\n  key_file: k.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Search.MaxQueryBytes != 4096 || c.Server.MaxBodyBytes != 2<<20 || c.Shards.MaxAnswerBytes != 1<<30 ||
		c.Consul.ShardTag != "chef-shard" || c.Consul.ShardScheme != "http" || c.TLS.CertFile != "c.pem" {
		t.Fatalf("parsed: %+v", c)
	}
	for _, bad := range []string{"server:\n  max_body_bytes: 1MB\n", "server:\n  max_body_bytes: -1\n", "shards:\n  max_answer_bytes: 99999999999GiB\n"} {
		if _, err := config.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not a size") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRolloutKeys(t *testing.T) {
	c, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Search.RolloutStaleAfter.Duration != time.Hour || c.Search.RolloutMaxLagging != 10000 {
		t.Errorf("rollout defaults: %s, %d", c.Search.RolloutStaleAfter.Duration, c.Search.RolloutMaxLagging)
	}
	c, err = config.Parse([]byte("search:\n  rollout_stale_after: 30m\n  rollout_max_lagging: 50\n"))
	if err != nil || c.Search.RolloutStaleAfter.Duration != 30*time.Minute || c.Search.RolloutMaxLagging != 50 {
		t.Errorf("rollout keys: %v %+v", err, c)
	}
	for bad, want := range map[string]string{
		"search:\n  rollout_max_lagging: 0\n":  "search.rollout_max_lagging is 0",
		"search:\n  rollout_stale_after: 0s\n": "search.rollout_stale_after must be positive",
	} {
		if _, err := config.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
}

// replica.advertise needs consul.address and a HOST:PORT; shutdown_delay
// defaults to 5s and may be 0 but not negative.
func TestReplicaKeys(t *testing.T) {
	c, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ShutdownDelay.Duration != 5*time.Second || c.Replica.Service != "shearch" || c.Replica.Advertise != "" || c.Replica.CheckInterval.Duration != 2*time.Second {
		t.Errorf("defaults: shutdown_delay %s, replica %+v", c.ShutdownDelay.Duration, c.Replica)
	}
	if _, err := config.Parse([]byte("replica: {advertise: 10.0.0.1:4000}\nconsul: {address: 127.0.0.1:8500}\nshutdown_delay: 0s\n")); err != nil {
		t.Errorf("a replica with consul: %v", err)
	}
	for text, want := range map[string]string{
		"replica: {advertise: 10.0.0.1:4000}\n":                                                     "consul.address is empty",
		"replica: {advertise: 10.0.0.1}\nconsul: {address: 127.0.0.1:8500}\n":                       "want HOST:PORT",
		"replica: {advertise: 10.0.0.1:4000, service: \"\"}\nconsul: {address: 127.0.0.1:8500}\n":   "replica.service is empty",
		"replica: {advertise: 10.0.0.1:4000, check_interval: 10ms}\nconsul: {address: 1.2.3.4:1}\n": "replica.check_interval",
		"shutdown_delay: -1s\n": "shutdown_delay must not be negative",
	} {
		if _, err := config.Parse([]byte(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", text, err, want)
		}
	}
}
