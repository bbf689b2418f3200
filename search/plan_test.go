package search

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/shearch/shearch/query"
	"github.com/shearch/shearch/shards"
)

// TestOneParseARequest: a request's query is parsed once, into its plan,
// whatever the request goes through: a page of names only, a page of
// whole objects past the first fan-out, a partial page, a stream in name
// order, an unordered one. It was parsed up to six times (the check, the
// match-all test, the names-only test twice, local evaluation, the
// fallback).
func TestOneParseARequest(t *testing.T) {
	var parses atomic.Int64
	parseQuery = func(q string) (*query.Query, error) { parses.Add(1); return query.Parse(q) }
	t.Cleanup(func() { parseQuery = query.Parse })
	a := newDataShard(t, "a", 300, 500, nil)
	b := newDataShard(t, "b", 200, 500, nil)
	e := dataEngine(t, a, b)
	e.CheckQueries = true
	e.FirstPageBytes = 1 << 10 // whole objects: names first, then the page's
	// s02 never answers; the fallback hears the plan's query.
	dead := newDataShard(t, "c", 1, 500, nil)
	dead.srv.Close()
	e.Topology = append(e.Topology.(StaticShards), shards.Shard{Name: "s02", Stack: "prod", URL: dead.srv.URL, ClientName: "admin", ClientKey: e.Topology.(StaticShards)[0].ClientKey})
	fb := &parsedFallback{}
	e.Fallback = fb
	names := map[string][]string{"name": {"name"}}
	defer func() {
		if fb.got == nil {
			t.Error("the fallback was never asked: the down shard did not fail")
		}
	}()
	for _, tc := range []struct {
		name   string
		req    Request
		stream bool
	}{
		{"names only", Request{Index: "node", Query: "*:*", Partial: names, Rows: 20}, false},
		{"whole objects, second page", Request{Index: "node", Query: "role:web", Rows: 20, Start: 20}, false},
		{"partial", Request{Index: "node", Query: "role:db", Partial: map[string][]string{"ip": {"ipaddress"}}, Rows: 5}, false},
		{"stream in name order", Request{Index: "node", Query: "role:db"}, true},
		{"unordered stream", Request{Index: "node", Query: "role:web", Order: OrderNone}, true},
		{"a shard down, Consul stands in", Request{Index: "node", Query: "role:web", Rows: 5, Shards: []string{"s00", "s01", "s02"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parses.Store(0)
			var err error
			if tc.stream {
				_, err = e.Stream(context.Background(), tc.req, nil, func(Row) error { return nil })
			} else {
				_, err = e.Search(context.Background(), tc.req)
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := parses.Load(); n != 1 {
				t.Errorf("the query was parsed %d times, want once", n)
			}
			if fb.got != nil && fb.got.String() == "" {
				t.Errorf("the fallback got an empty query")
			}
		})
	}
}

// parsedFallback answers nothing and keeps the query it was given.
type parsedFallback struct{ got *query.Query }

func (f *parsedFallback) Nodes(_ context.Context, _ string, q *query.Query, _ map[string][]string) ([]shards.Row, []string, error) {
	f.got = q
	return nil, nil, nil
}
