package search

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestNewFillsDefaultsOnce: New is the one place the engine's defaults
// are set; what a Config names is kept; the metrics go on the
// Registerer given; a missing topology is refused in one line.
func TestNewFillsDefaultsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(Config{MaxRows: 7}, Deps{Topology: StaticShards{}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Timeout", e.Timeout, DefaultTimeout},
		{"Concurrency", e.Concurrency, defaultConcurrency},
		{"MaxRows (set)", e.MaxRows, 7},
		{"MaxPageBytes", e.MaxPageBytes, int64(DefaultMaxPageBytes)},
		{"FirstPageBytes", e.FirstPageBytes, defaultFirstPageBytes},
		{"FetchChunk", e.FetchChunk, defaultFetchChunk},
		{"OrderTTL", e.OrderTTL, defaultOrderTTL},
		{"request timeout", e.RequestTimeout(), requestTimeouts * DefaultTimeout},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if e.Guards == nil || e.Log == nil || e.orders == nil || e.spill == nil {
		t.Fatal("New left a part unmade")
	}
	if e.OrderTTL != 30*time.Second {
		t.Errorf("order TTL %v", e.OrderTTL)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"shearch_cache_hit_ratio", "shearch_fallback_rows_total"} {
		if !names[want] {
			t.Errorf("metric %s not on the Registerer (have %v)", want, names)
		}
	}
	// A second engine on the same registry is refused, not a panic.
	if _, err := New(Config{}, Deps{Topology: StaticShards{}, Registerer: reg}); err == nil || !strings.Contains(err.Error(), "registering the engine's metrics") {
		t.Errorf("second engine on one registry: %v", err)
	}
	if _, err := New(Config{}, Deps{}); err == nil || !strings.Contains(err.Error(), "Deps.Topology") {
		t.Errorf("no topology: %v", err)
	}
}
