package search_test

import (
	"context"
	"slices"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/search"
)

// startShards serves one fake shard per fixture, named s0, s1, ...
func startShards(t *testing.T, o fakeshard.Options, pageSize int, fxs ...*devfleet.Fixture) ([]*fakeshard.Shard, *search.Engine) {
	t.Helper()
	out, list := fakeshard.StartFixtures(t, o, fxs...)
	return out, search.MustNew(search.Config{DefaultStack: "prod", PageSize: pageSize, CheckQueries: true}, search.Deps{Topology: search.StaticShards(list)})
}

// A query every shard refuses is evaluated by Shearch over each shard's
// objects, read a page at a time: the answer is the matches only.
func TestLocalEvaluation(t *testing.T) {
	per, names := spread(90, 3)
	var fxs []*devfleet.Fixture
	for _, nodes := range per {
		fxs = append(fxs, &devfleet.Fixture{Nodes: nodes})
	}
	refuse := func(q string) bool { return q != "*:*" }
	sh, e := startShards(t, fakeshard.Options{Refuse: refuse}, 10, fxs...)
	var web []string
	for i, n := range names {
		if i%2 == 0 {
			web = append(web, n)
		}
	}
	// The map of nodes held twice is read once and kept.
	if _, err := e.Search(context.Background(), search.Request{Index: "node", Query: "role:warm-up", Partial: map[string][]string{}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		req     search.Request
		want    []string
		partial bool
	}{
		{"whole objects", search.Request{Index: "node", Query: "role:web"}, web, false},
		{"partial", search.Request{Index: "node", Query: "role:web AND name:node-001*", Partial: map[string][]string{"ip": {"ipaddress"}}}, []string{"node-0010", "node-0012", "node-0014", "node-0016", "node-0018"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range sh {
				s.ResetStats()
			}
			res, err := e.Search(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := rowNames(res.Rows); !slices.Equal(got, tc.want) {
				t.Fatalf("rows %v, want %v", got, tc.want)
			}
			for _, r := range res.Rows {
				if d := data(t, r); tc.partial && d["ip"] == nil || !tc.partial && d["automatic"] == nil {
					t.Fatalf("row %s: %v", r.Name, d)
				}
			}
			for i, s := range sh {
				// The refusal, then 30 nodes in pages of 10 and a last empty page.
				if st := s.Stats(); st.Searches > 1+4+1 {
					t.Errorf("shard s%d: %d searches for 30 nodes in pages of 10", i, st.Searches)
				}
			}
		})
	}
}
