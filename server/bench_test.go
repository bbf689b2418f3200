package server_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// BenchmarkSearch compares, within one run, a query answered by one shard
// directly with the same query federated by Shearch over three shards
// holding three times the nodes, and the fan-out run in parallel against
// one shard at a time.
func BenchmarkSearch(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fx := devfleet.Synthetic(1500, 7, time.Now().Unix())
	c, err := devfleet.StartCluster(ctx, "bench", "prod", 3, fx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	direct, err := c.Shards[0].Client()
	if err != nil {
		b.Fatal(err)
	}
	partial := map[string][]string{"name": {"name"}, "ip": {"ipaddress"}}
	const q = "role:web OR role:db"

	b.Run("direct-one-shard", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := direct.Search(ctx, "node", q, partial); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, mode := range []struct {
		name  string
		limit int
	}{{"shearch-3-shards-parallel", 16}, {"shearch-3-shards-sequential", 1}} {
		e := search.MustNew(search.Config{DefaultStack: "prod", Concurrency: mode.limit}, search.Deps{Topology: search.StaticShards(c.ShardList())})
		srv := httptest.NewServer(server.New(engine.Over(e), nil))
		cl, _ := api.NewClient(&api.Config{Addresses: []string{srv.URL}})
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := cl.Search(ctx, "node", q, &api.SearchOptions{Partial: partial, AllowPartial: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
		srv.Close()
	}
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards(c.ShardList())})
	b.Run("shearch-page-of-20-names-first", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := e.Search(ctx, search.Request{Index: "node", Query: "*:*", Rows: 20, Start: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shearch-whole-result-objects", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := e.Search(ctx, search.Request{Index: "node", Query: "*:*"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
