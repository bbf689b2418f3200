package fanout

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// A shard's status names the shard, so its error drops the name, taken
// from the error's own fields; an error wrapped in more words, or about
// another shard, keeps every word.
func TestDetail(t *testing.T) {
	refused := &shards.StatusError{Shard: "chef-1", Status: 404, Messages: []string{"Cannot load node web-1"}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"status", refused, "HTTP 404: Cannot load node web-1"},
		{"status without words", &shards.StatusError{Shard: "chef-1", Status: 503}, "HTTP 503: Service Unavailable"},
		{"timeout", &shards.TimeoutError{Shard: "chef-1", Limit: 2e9}, "timed out after 2s (shards.timeout)"},
		{"overloaded", &shards.OverloadedError{Shard: "chef-1", Status: 429, Reason: "queue full", RetryAfter: 1e9}, "overloaded: queue full; retry after 1s"},
		{"wrapped in words", fmt.Errorf("listing data bags: %w", refused), "listing data bags: shard chef-1: HTTP 404: Cannot load node web-1"},
		{"another shard", &shards.StatusError{Shard: "chef-2", Status: 400}, "shard chef-2: HTTP 400: Bad Request"},
		{"not a shard's", errors.New("boom"), "boom"},
		{"the engine's", fault.Errorf(fault.NoSpace, "shard chef-1: no"), "shard chef-1: no"},
		{"caller left", context.Canceled, "context canceled"},
	} {
		if got := Detail(tc.err, "chef-1"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Only a shards error blames the shard: the caller leaving, Shearch
// shedding, or Shearch's own work (a fault.Error, as the sorter's spill
// bounds give) says nothing of its health.
func TestBlameless(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"caller left", fmt.Errorf("x: %w", context.Canceled), true},
		{"shed", &shards.OverloadedError{Shard: "chef-1", Status: 429}, true},
		{"sorter", fmt.Errorf("x: %w", fault.Errorf(fault.NoSpace, "spill_max_bytes")), true},
		{"refused", &shards.StatusError{Shard: "chef-1", Status: 500}, false},
		{"timed out", &shards.TimeoutError{Shard: "chef-1"}, false},
		{"unreachable", &shards.NetError{Shard: "chef-1", Err: errors.New("no route")}, false},
	} {
		if got := Blameless(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
