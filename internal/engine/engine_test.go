package engine_test

import (
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/drift"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
)

// TestWriteEmptiesTheSearchCache: New wires the writer to the read
// engine, so a search answered from the cache before a write is asked of
// the shards again after it. (The fake shard refuses the write: a write
// that may have reached a shard counts all the same.)
func TestWriteEmptiesTheSearchCache(t *testing.T) {
	fx := &devfleet.Fixture{Roles: []devfleet.Object{{"name": "web", "json_class": "Chef::Role", "chef_type": "role"}}}
	fake, list := fakeshard.StartFixtures(t, fakeshard.Options{}, fx)
	s := fake[0]
	read := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{
		Topology: search.StaticShards(list),
		Cache:    &search.Cache{TTL: time.Minute}})
	e := engine.Over(read)
	searches := func() int64 {
		t.Helper()
		if _, err := e.Search(t.Context(), search.Request{Index: "role", Query: "*:*"}); err != nil {
			t.Fatal(err)
		}
		return s.Stats().Searches
	}
	first := searches()
	if again := searches(); again != first {
		t.Fatalf("the cache is off: a second search asked the shard again (%d, then %d searches)", first, again)
	}
	if _, err := e.StackWrite(t.Context(), "prod", "PUT", writes.ObjectRef{Kind: writes.KindRole, Name: "web"}, map[string]any{"name": "web"}); err != nil {
		t.Fatal(err)
	}
	if after := searches(); after == first {
		t.Fatal("a search after a write was answered from the cache of before it")
	}
}

// TestNodeWriteKeepsTheDriftReport: a node write leaves the drift report
// kept for consistency.cache_ttl alone (it compares no nodes, and every
// chef-client run ends with one), while a role write drops it.
func TestNodeWriteKeepsTheDriftReport(t *testing.T) {
	fx := func() *devfleet.Fixture {
		return &devfleet.Fixture{
			Roles: []devfleet.Object{{"name": "web", "json_class": "Chef::Role", "chef_type": "role"}},
			Nodes: []devfleet.Object{{"name": "web-01", "chef_environment": "prod", "json_class": "Chef::Node", "chef_type": "node"}}}
	}
	fake, list := fakeshard.StartFixtures(t, fakeshard.Options{}, fx(), fx())
	e := engine.New(search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards(list)}),
		engine.Config{Drift: drift.Config{ReportTTL: time.Hour}})
	requests := func() int64 { return fake[0].Stats().Requests + fake[1].Stats().Requests }
	scan := func() int64 {
		t.Helper()
		before := requests()
		if _, err := e.Consistency(t.Context(), "prod"); err != nil {
			t.Fatal(err)
		}
		return requests() - before
	}
	if n := scan(); n == 0 {
		t.Fatal("the first drift report asked no shard")
	}
	// The fake shards refuse writes: one that may have reached a shard
	// counts all the same.
	if _, err := e.NodeWrite(t.Context(), "prod", "PUT", "web-01", "s0", map[string]any{"name": "web-01"}); err != nil {
		t.Fatal(err)
	}
	if n := scan(); n != 0 {
		t.Fatalf("after a node write the drift report was scanned again (%d shard requests), want the kept one", n)
	}
	if _, err := e.StackWrite(t.Context(), "prod", "PUT", writes.ObjectRef{Kind: writes.KindRole, Name: "web"}, map[string]any{"name": "web"}); err != nil {
		t.Fatal(err)
	}
	if n := scan(); n == 0 {
		t.Fatal("after a role write the drift report from before it was served")
	}
}
