package search_test

import (
	"context"
	"slices"
	"testing"

	"github.com/shearch/shearch/search"
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
