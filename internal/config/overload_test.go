package config

import (
	"strings"
	"testing"
	"time"
)

func TestOverloadKeys(t *testing.T) {
	c, err := Parse([]byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Shards.MaxInFlight != 16 || c.Search.MaxWaiting != 256 || c.Search.MaxWait.Duration != 5*time.Second ||
		c.ShutdownTimeout.Duration != 30*time.Second || c.Shards.BreakerFailures != 5 ||
		c.Shards.BreakerInterval.Duration != 10*time.Second || c.Shards.RetryBudget != 0.1 {
		t.Errorf("defaults: %+v %+v shutdown %s", c.Shards, c.Search, c.ShutdownTimeout)
	}
	c, err = Parse([]byte("shutdown_timeout: 5s\nshards:\n  max_in_flight: 4\n  breaker_failures: 2\n  breaker_interval: 1s\n  retry_budget: 0.2\nsearch:\n  max_waiting: 10\n  max_wait: 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Shards.MaxInFlight != 4 || c.Search.MaxWaiting != 10 || c.Search.MaxWait.Duration != time.Second || c.ShutdownTimeout.Duration != 5*time.Second {
		t.Errorf("set: %+v %+v", c.Shards, c.Search)
	}
	for yaml, want := range map[string]string{
		"shards:\n  max_in_flight: 0\n": "shards.max_in_flight",
		"search:\n  max_waiting: 0\n":   "search.max_waiting",
		"search:\n  max_wait: 0s\n":     "search.max_wait",
		"shards:\n  retry_budget: 2\n":  "shards.retry_budget",
		"shutdown_timeout: 0s\n":        "shutdown_timeout",
	} {
		if _, err := Parse([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error naming %s", yaml, err, want)
		}
	}
}
