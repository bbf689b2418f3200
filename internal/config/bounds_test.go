package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/config"
)

// The bounds and trust settings of issue 20 have their documented
// defaults, and a bad value is one line naming the key.
func TestBoundsDefaultsAndChecks(t *testing.T) {
	c, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, k := c.Search, c.Consistency
	if s.MaxRows != 10000 || s.MaxPageBytes != 64<<20 || s.MaxFacetBytes != 16<<20 || s.SpillTotalBytes != 8<<30 ||
		k.CacheTTL.Duration != 10*time.Second || k.CallerScans != 6 || k.CallerWindow.Duration != time.Minute ||
		len(c.Consul.ShardNames) != 0 || len(c.Consul.ShardNetworks) != 0 || c.Consul.ShardCAFile != "" {
		t.Fatalf("defaults: %+v %+v %+v", s, k, c.Consul)
	}
	c, err = config.Parse([]byte("search:\n  max_rows: 2000\n  max_page_bytes: 8MiB\n  max_facet_bytes: 1MiB\n  spill_total_bytes: 2GiB\n" +
		"consistency:\n  cache_ttl: 0s\n  caller_scans: 2\n  caller_window: 5m\n" +
		"consul:\n  shard_names: [chef-*, \"prod-??\"]\n  shard_networks: [10.20.0.0/16, \"fd00::/8\", .chef.example.com]\n  shard_ca_file: /etc/ca.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Search.MaxRows != 2000 || c.Search.MaxPageBytes != 8<<20 || c.Search.MaxFacetBytes != 1<<20 || c.Search.SpillTotalBytes != 2<<30 ||
		c.Consistency.CacheTTL.Duration != 0 || c.Consistency.CallerScans != 2 || c.Consistency.CallerWindow.Duration != 5*time.Minute ||
		len(c.Consul.ShardNames) != 2 || len(c.Consul.ShardNetworks) != 3 || c.Consul.ShardCAFile != "/etc/ca.pem" {
		t.Fatalf("parsed: %+v %+v %+v", c.Search, c.Consistency, c.Consul)
	}
	for bad, want := range map[string]string{
		"search:\n  max_rows: 0\n":                                      "search.max_rows is 0",
		"search:\n  max_page_bytes: 0\n":                                "search.max_page_bytes must be a positive size",
		"search:\n  max_facet_bytes: 0\n":                               "search.max_facet_bytes must be a positive size",
		"search:\n  spill_total_bytes: 0\n":                             "search.spill_total_bytes must be a positive size",
		"consistency:\n  cache_ttl: -1s\n":                              "consistency.cache_ttl must not be negative",
		"consistency:\n  caller_scans: 0\n":                             "consistency.caller_scans is 0",
		"consistency:\n  caller_window: 0s\n":                           "consistency.caller_window must be positive",
		"consul:\n  shard_names: [\"chef-[\"]\n":                        `consul.shard_names[0] "chef-[" is not a name pattern`,
		"consul:\n  shard_networks: [10.0.0.0/33]\n":                    `consul.shard_networks[0] "10.0.0.0/33" is not a CIDR`,
		"consul:\n  shard_networks: [\"*.example.com\"]\n":              `consul.shard_networks[0] "*.example.com": give a CIDR`,
		"consul:\n  shard_scheme: http\n  shard_ca_file: /etc/ca.pem\n": "consul.shard_ca_file is set but consul.shard_scheme is http",
	} {
		if _, err := config.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
}
