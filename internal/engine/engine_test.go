package engine_test

import (
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
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
