package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// BenchmarkFacets compares facets of three attributes over the whole
// result with the partial search that brings the same attributes (the
// cost of counting on top of fetching), one shard's own answer, and the
// CSV download. SHEARCH_BENCH_NODES sets the fleet size (1,500).
func BenchmarkFacets(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	nodes := 1500
	if n, err := strconv.Atoi(os.Getenv("SHEARCH_BENCH_NODES")); err == nil && n > 0 {
		nodes = n
	}
	fx := devfleet.Synthetic(nodes, 7, time.Now().Unix())
	c, err := devfleet.StartCluster(ctx, "bench", "prod", 3, fx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	e := search.MustNew(search.Config{DefaultStack: "prod", Timeout: time.Minute}, search.Deps{Topology: search.StaticShards(c.ShardList())})
	attrs := []string{"platform", "kernel.release", "tags"}
	partial, _ := facets.PartialFor(attrs)

	direct, err := c.Shards[0].Client()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("direct-one-shard-partial-3-attrs", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := direct.Search(ctx, "node", "*:*", partial); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("partial-search-3-attrs", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := e.Search(ctx, search.Request{Index: "node", Query: "*:*", Partial: partial, Rows: 100000}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("facets-3-attrs", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := facets.Count(ctx, e, facets.Config{}, facets.Request{Request: search.Request{Index: "node", Query: "*:*"}, Attrs: attrs}); err != nil {
				b.Fatal(err)
			}
		}
	})
	srv := httptest.NewServer(server.New(engine.Over(e), nil))
	defer srv.Close()
	b.Run("csv-export-3-attrs", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := http.Get(srv.URL + "/v1/export/node?q=*:*&attr=platform&attr=kernel.release&attr=tags")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("HTTP %d", res.StatusCode)
			}
		}
	})
}
