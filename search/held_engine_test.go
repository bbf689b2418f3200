package search_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shearch/shearch/devfleet"
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
