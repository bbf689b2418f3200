package search_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/search"
)

// An answer within search.sort_memory_bytes is merged from the shards'
// parts in memory; one past it goes through the sorter, which spills.
// Over shards that hold many of the same nodes, in no order, both give
// the same answer: rows, the copy kept of each name, duplicates, totals,
// shard summaries, streamed or paged.
func TestAnswerSameInMemoryAndSpilled(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 4))
	per := make([][]devfleet.Object, 4)
	for s := range per {
		for _, i := range rng.Perm(150)[:100] {
			per[s] = append(per[s], node(fmt.Sprintf("node-%04d", i), "prod", []string{"web", "db"}[i%2], fmt.Sprint(1000+rng.IntN(3))))
		}
	}
	f := startFleet(t, 7, per...)
	inMemory := f.engine
	inMemory.SortBytes = 64 << 20
	spilling := search.MustNew(search.Config{DefaultStack: "prod", PageSize: 7, CheckQueries: true, SortBytes: 2048, SpillDir: t.TempDir()},
		search.Deps{Topology: f.engine.Topology})
	ctx := context.Background()
	partial := map[string][]string{"ip": {"ipaddress"}, "ohai": {"ohai_time"}}
	for _, req := range []search.Request{
		{Index: "node", Query: "*:*"},
		{Index: "node", Query: "*:*", Partial: partial},
		{Index: "node", Query: "*:*", Partial: partial, Rows: 20},
		{Index: "node", Query: "role:web", Partial: partial},
		{Index: "node", Query: "*:*", Start: 37, Rows: 25},
		{Index: "role", Query: "*:*"},
	} {
		name := fmt.Sprintf("%s %s partial=%v start=%d rows=%d", req.Index, req.Query, req.Partial != nil, req.Start, req.Rows)
		a, err := inMemory.Search(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := spilling.Search(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if x, y := answerText(t, a), answerText(t, b); x != y {
			t.Fatalf("%s: in memory\n%s\nspilled\n%s", name, x, y)
		}
		if req.Index == "node" && req.Query == "*:*" && a.DuplicatesTotal == 0 {
			t.Fatalf("%s: no duplicates: the fleet did not hold nodes twice", name)
		}
		var sa, sb []search.Row
		ra, err := inMemory.Stream(ctx, req, nil, func(r search.Row) error { sa = append(sa, r); return nil })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rb, err := spilling.Stream(ctx, req, nil, func(r search.Row) error { sb = append(sb, r); return nil })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ra.Rows, rb.Rows = sa, sb
		if x, y := answerText(t, ra), answerText(t, rb); x != y {
			t.Fatalf("%s, streamed: in memory\n%s\nspilled\n%s", name, x, y)
		}
	}
	if n := inMemory.SpilledBytes(); n != 0 {
		t.Fatalf("answers within the bound spilled %d bytes", n)
	}
	if spilling.SpilledBytes() == 0 {
		t.Fatal("answers past the bound spilled nothing: they were merged in memory")
	}
}

// answerText is an answer as its client reads it, without the timings.
func answerText(t *testing.T, r *search.Result) string {
	t.Helper()
	c := *r
	c.Shards.Details = append([]search.ShardStatus(nil), r.Shards.Details...)
	for i := range c.Shards.Details {
		c.Shards.Details[i].TookMS = 0
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A shard whose data bag goes away between pages answers 404 part-way:
// Classify calls it a shard without that bag, so its rows are left out.
// They must be left out whether its first pages were held in memory or
// had gone to the sorter: the answer is the same either way.
func TestShardLostPartWayIsLeftOutInMemoryAndSpilled(t *testing.T) {
	items := func(prefix string, n int) []devfleet.Object {
		var out []devfleet.Object
		for i := range n {
			out = append(out, devfleet.Object{"id": fmt.Sprintf("%s-%03d", prefix, i), "shell": "/bin/sh"})
		}
		return out
	}
	var fxs []*devfleet.Fixture
	for _, p := range []string{"a", "b", "c"} {
		fxs = append(fxs, &devfleet.Fixture{DataBags: map[string][]devfleet.Object{"users": items(p, 400)}})
	}
	fakes, list := fakeshard.StartFixtures(t, fakeshard.Options{}, fxs...)
	// s1 sends six pages of 50, more than a part hands the sorter at once,
	// then has no bag: 404 from the seventh page on.
	var searches atomic.Int64
	target, _ := url.Parse(strings.TrimSuffix(fakes[1].URL(), "/organizations/"+path.Base(fakes[1].URL())))
	rp := httputil.NewSingleHostReverseProxy(target)
	lost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/search/users") && searches.Add(1) > 6 {
			http.Error(w, `{"error":["Cannot load data bag users"]}`, http.StatusNotFound)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(lost.Close)
	list[1].URL = lost.URL + "/organizations/" + path.Base(fakes[1].URL())
	var got []string
	for _, sortBytes := range []int{64 << 20, 2048} {
		searches.Store(0)
		e := search.MustNew(search.Config{DefaultStack: "prod", PageSize: 50, SortBytes: sortBytes, SpillDir: t.TempDir()},
			search.Deps{Topology: search.StaticShards(list)})
		res, err := e.Search(context.Background(), search.Request{Index: "users", Query: "*:*", Rows: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range res.Rows {
			names = append(names, r.Shard+"/"+r.Name)
		}
		got = append(got, fmt.Sprintf("total %d ok %d: %v", res.Total, res.Shards.OK, names))
	}
	if got[0] != got[1] {
		t.Fatalf("in memory:\n%s\nspilled:\n%s", got[0], got[1])
	}
	if strings.Contains(got[0], "s1/") {
		t.Fatalf("the lost shard's first page is in the answer: %s", got[0])
	}
}
