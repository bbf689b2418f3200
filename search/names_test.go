package search_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// A partial search of every node for names alone (knife search node '*:*'
// -i) is answered from the shards' node lists, not their search; a node
// two shards hold is still the newest copy, its ohai_time read from each.
// Any other key, or any other query, searches.
func TestNamesOnlyFromNodeLists(t *testing.T) {
	per, names := spread(23, 3)
	per[0] = append(per[0], node("node-0001", "prod", "web", "99999")) // newer than s1's
	per[2] = append(per[2], node("node-0003", "prod", "web", "1"))     // older than s0's
	f := startFleet(t, 5, per...)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		req      search.Request
		searches bool
	}{
		{"-i", search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"__display_name": {"name"}}}, false},
		{"two name keys", search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"a": {"name"}, "b": {"name"}}, Rows: 7, Start: 3}, false},
		{"another key", search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"a": {"name"}, "ip": {"ipaddress"}}}, true},
		{"another query", search.Request{Index: "node", Query: "role:web OR role:db", Partial: map[string][]string{"a": {"name"}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.resetStats()
			res, err := f.engine.Search(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			searches := int64(0)
			for _, s := range f.shards {
				searches += s.Stats().Searches
			}
			if (searches > 0) != tc.searches {
				t.Fatalf("%d shard searches", searches)
			}
			want := names[tc.req.Start:]
			if tc.req.Rows > 0 {
				want = want[:tc.req.Rows]
			}
			if got := rowNames(res.Rows); !slices.Equal(got, want) || res.Total != len(names) {
				t.Fatalf("rows %v (total %d)", got, res.Total)
			}
			kept := map[string]string{}
			for _, r := range res.Rows {
				kept[r.Name] = r.Shard
				d := data(t, r)
				for k := range tc.req.Partial {
					if tc.req.Partial[k][0] == "name" && d[k] != r.Name {
						t.Fatalf("row %s data %v", r.Name, d)
					}
				}
			}
			if tc.req.Start == 0 && (kept["node-0001"] != "s0" || kept["node-0003"] != "s0") {
				t.Fatalf("duplicates kept from %s and %s, want the newest copies, both on s0", kept["node-0001"], kept["node-0003"])
			}
			if res.DuplicatesTotal != 2 {
				t.Fatalf("duplicates %+v", res.Duplicates)
			}
		})
	}
}

// A shard that will not list its nodes (a key without that right) is
// searched instead, and nothing is lost.
func TestNamesOnlyShardThatWillNotList(t *testing.T) {
	per, names := spread(12, 2)
	f := startFleet(t, 0, per...)
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	refuse, err := fakeshard.FromFixture(&devfleet.Fixture{Nodes: []devfleet.Object{node("node-9999", "prod", "web", "1")}}, fakeshard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	refuse.Start() // its partial rows name its own URL
	t.Cleanup(refuse.Close)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/nodes") {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":["missing read permission"]}`))
			return
		}
		refuse.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	list := f.engine.Topology.(search.StaticShards)
	list = append(list, shards.Shard{Name: "s9", URL: ts.URL + "/organizations/fake", Stack: "prod", ClientName: "bench", ClientKey: key})
	f.engine.Topology = list
	res, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"n": {"name"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rowNames(res.Rows), append(slices.Clone(names), "node-9999"); !slices.Equal(got, want) || res.Shards.Failed != 0 {
		t.Fatalf("rows %v, shards %+v", got, res.Shards)
	}
}

// A small page of whole objects asks each shard for no more objects than
// the page can use: a shard with more matches is read names first, and
// only the page's objects travel.
func TestSmallPageAsksForItsRowsOnly(t *testing.T) {
	per, names := spread(600, 3)
	f := startFleet(t, 0, per...)
	f.warm(t)
	f.resetStats()
	res, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*", Start: 5, Rows: 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowNames(res.Rows); !slices.Equal(got, names[5:25]) || res.Total != 600 {
		t.Fatalf("rows %v, total %d", got, res.Total)
	}
	for i, s := range f.shards {
		// Objects are asked for (GET) in a page of start+rows+1 only; the
		// names (POST) go alongside.
		first := ""
		for _, l := range s.Log() {
			if strings.HasPrefix(l, "GET ") && strings.Contains(l, "/search/node") {
				first = l
				break
			}
		}
		if !strings.Contains(first, "rows=26") {
			t.Fatalf("shard s%d was first asked for objects %q, want a GET of 26 rows (start+rows+1)", i, first)
		}
	}
}
