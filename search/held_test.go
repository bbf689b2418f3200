package search

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shearch/shearch/internal/extsort"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// heldInput is a fan-out's rows as gather meets them: each shard's in
// the order it sends them, the failed shards (their rows go, the
// fallback stands in) and the fallback's rows.
type heldInput struct {
	index    string
	perShard map[string][]Row
	failed   map[string]bool
	fallback []Row
}

// randomInput draws names from a small pool so that many are held by
// several shards, with ohai_times that tie or differ, data that agrees
// or drifts (majority), and each shard's rows in a random order.
func randomInput(rng *rand.Rand, index string, withFallback bool) heldInput {
	in := heldInput{index: index, perShard: map[string][]Row{}, failed: map[string]bool{}}
	nShards := 1 + rng.IntN(7)
	pool := 1 + rng.IntN(300)
	for s := 0; s < nShards; s++ {
		shard := fmt.Sprintf("s%02d", s)
		var rows []Row
		for _, i := range rng.Perm(pool)[:rng.IntN(pool+1)] {
			name := fmt.Sprintf("%s-%04d", index, i)
			r := Row{Name: name, Shard: shard, Source: SourceChef}
			switch index {
			case "node":
				if rng.IntN(10) > 0 {
					r.Ohai = fmt.Sprintf("17000000%02d.%d", rng.IntN(4), rng.IntN(3))
				}
				r.Data = json.RawMessage(fmt.Sprintf(`{"name":%q,"ip":"10.0.%d.%d"}`, name, s, i%250))
			default:
				r.Data = json.RawMessage(fmt.Sprintf(`{"name":%q,"v":%d}`, name, rng.IntN(3)))
			}
			rows = append(rows, r)
		}
		in.perShard[shard] = rows
	}
	if withFallback && index == "node" {
		for shard := range in.perShard {
			if rng.IntN(3) > 0 {
				continue
			}
			in.failed[shard] = true
			for _, i := range rng.Perm(pool)[:rng.IntN(pool/2+1)] {
				name := fmt.Sprintf("node-%04d", i)
				in.fallback = append(in.fallback, Row{Name: name, Shard: shard, Source: SourceConsul,
					Ohai: fmt.Sprintf("17000000%02d.0", rng.IntN(4)), Data: json.RawMessage(`{"name":"` + name + `"}`)})
			}
		}
	}
	return in
}

// bytes is what the rows count against the bound, but for the rows of
// failed shards, which go when the shard fails.
func (in heldInput) bytes() int {
	n := 0
	for shard, rows := range in.perShard {
		for _, r := range rows {
			if in.failed[shard] {
				continue
			}
			n += extsort.RowBytes(r)
		}
	}
	for _, r := range in.fallback {
		n += extsort.RowBytes(r)
	}
	return n
}

// heldOutcome is a merged answer: its rows, duplicates, and whether the
// rows went to the sorter and it wrote runs.
type heldOutcome struct {
	rows    []Row
	dups    []Duplicate
	over    bool
	spilled int64
}

// runHeld gathers in as gather does: every shard's part from its own
// goroutine (a failed shard's part dropped), then the fallback's, with
// limit as SortBytes; then merges it, a row at a time (each) or in
// batches of batch rows.
func runHeld(t *testing.T, in heldInput, limit int, batch int) heldOutcome {
	t.Helper()
	var spilled int64
	var mu sync.Mutex
	dir := t.TempDir()
	h := &held{limit: int64(limit), newSorter: func() *extsort.Sorter {
		return extsort.New(extsort.Config{MemBytes: limit, Dir: dir, Spilled: func(n int64) { mu.Lock(); spilled += n; mu.Unlock() }})
	}}
	defer h.close()
	var wg sync.WaitGroup
	errs := make(chan error, len(in.perShard))
	for shard, rows := range in.perShard {
		wg.Go(func() {
			p := h.part()
			for _, r := range rows {
				if err := p.add(r); err != nil {
					errs <- err
					return
				}
			}
			if in.failed[shard] {
				p.drop()
				return
			}
			if err := p.done(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(in.fallback) > 0 {
		p := h.part()
		for _, r := range in.fallback {
			if err := p.add(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.done(); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.err(); err != nil {
		t.Fatal(err)
	}
	g := &gathered{req: &plan{Request: Request{Index: in.index}}, held: h, failed: in.failed, dups: []Duplicate{}}
	var err error
	if g.next, err = h.sorted(g.skip); err != nil {
		t.Fatal(err)
	}
	var out heldOutcome
	if batch == 0 {
		err = g.each(context.Background(), func(r *Row) error { out.rows = append(out.rows, *r); return nil })
	} else {
		for more := true; more && err == nil; {
			var rows []Row
			rows, more, err = g.batch(context.Background(), batch)
			out.rows = append(out.rows, rows...)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	out.dups = g.duplicates()
	out.over = h.over.Load()
	mu.Lock()
	out.spilled = spilled
	mu.Unlock()
	return out
}

func rowsDump(rows []Row) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s@%s/%s url=%q ohai=%q %s\n", r.Name, r.Shard, r.Source, r.URL, r.Ohai, r.Data)
	}
	return b.String()
}

func dupsDump(dups []Duplicate) string {
	var b strings.Builder
	for _, d := range dups {
		fmt.Fprintf(&b, "%s kept=%s stale=%v differs=%v\n", d.Name, d.Kept, d.Stale, d.Differs)
	}
	return b.String()
}

// TestHeldMergeMatchesSorter: the merge of parts held in memory gives
// what the sorter gives, spilling or not, and what merge gives for the
// same rows: the same rows in the same order, the same copy kept of a
// name several shards hold, the same duplicates, whether the parts are
// read a row at a time or in batches.
func TestHeldMergeMatchesSorter(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		for _, index := range []string{"node", "role"} {
			withFallback := seed%2 == 0
			t.Run(fmt.Sprintf("%s-%d", index, seed), func(t *testing.T) {
				in := randomInput(rand.New(rand.NewPCG(seed, 19)), index, withFallback)
				total := in.bytes()
				all := total
				for shard := range in.failed {
					for _, r := range in.perShard[shard] {
						all += extsort.RowBytes(r)
					}
				}
				mem := runHeld(t, in, all+1, 0)
				if mem.over || mem.spilled != 0 {
					t.Fatalf("an answer of %d bytes went to the sorter under a bound of %d", all, all+1)
				}
				for _, tc := range []struct {
					name         string
					limit, batch int
				}{
					{"in memory, in batches", all + 1, 7},
					{"sorter past a bound of a few rows", 600, 0},
					{"sorter from half-way", total / 2, 0},
					{"sorter, in batches", 600, 13},
				} {
					got := runHeld(t, in, tc.limit, tc.batch)
					if tc.limit < total && (!got.over || got.spilled == 0) {
						t.Fatalf("%s: %d bytes under a bound of %d stayed in memory (spilled %d)", tc.name, total, tc.limit, got.spilled)
					}
					if a, b := rowsDump(got.rows), rowsDump(mem.rows); a != b {
						t.Fatalf("%s: rows differ from the merge in memory:\n%s\nwant\n%s", tc.name, a, b)
					}
					if a, b := dupsDump(got.dups), dupsDump(mem.dups); a != b {
						t.Fatalf("%s: duplicates differ from the merge in memory:\n%s\nwant\n%s", tc.name, a, b)
					}
				}
				if withFallback {
					return
				}
				// merge is the whole-answer merge the sorter's replaced.
				var answers []fanout.Answer[[]shards.Row]
				for shard, rows := range in.perShard {
					a := fanout.Answer[[]shards.Row]{Shard: shards.Shard{Name: shard}}
					for _, r := range rows {
						a.Value = append(a.Value, shards.Row{Name: r.Name, URL: r.URL, Data: r.Data, Ohai: r.Ohai})
					}
					answers = append(answers, a)
				}
				rows, dups := merge(index, answers)
				slices.SortFunc(dups, func(a, b Duplicate) int { return strings.Compare(a.Name, b.Name) })
				if a, b := rowsDump(mem.rows), rowsDump(rows); a != b {
					t.Fatalf("rows differ from merge:\n%s\nwant\n%s", a, b)
				}
				if a, b := dupsDump(mem.dups), dupsDump(dups); a != b {
					t.Fatalf("duplicates differ from merge:\n%s\nwant\n%s", a, b)
				}
			})
		}
	}
}

// TestHeldBound: rows held in memory are bounded by SortBytes, counted as
// the sorter counts them: an answer over the bound goes to the sorter
// (which spills), one within it never does, and the bytes held in memory
// never pass the bound by more than countEvery rows a part.
func TestHeldBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 19))
	in := randomInput(rng, "node", false)
	for len(in.perShard) < 3 || in.bytes() < 20_000 {
		in = randomInput(rng, "node", false)
	}
	total := in.bytes()
	maxRow := 0
	for _, rows := range in.perShard {
		for _, r := range rows {
			maxRow = max(maxRow, extsort.RowBytes(r))
		}
	}
	for _, limit := range []int{total - 1, total, total + 1, total / 3, 1} {
		got := runHeld(t, in, limit, 0)
		if over := total > limit; got.over != over || (got.spilled > 0) != over {
			t.Errorf("%d bytes under a bound of %d: to the sorter %v, spilled %d bytes; want to the sorter %v", total, limit, got.over, got.spilled, over)
		}
	}
	// While the rows are held in memory, the shared count lags each part
	// by fewer than countEvery rows.
	limit := total / 2
	h := &held{limit: int64(limit), newSorter: func() *extsort.Sorter {
		return extsort.New(extsort.Config{MemBytes: limit, Dir: t.TempDir()})
	}}
	defer h.close()
	var parts []*part
	for range in.perShard {
		parts = append(parts, h.part())
	}
	lists := slices.Collect(maps.Values(in.perShard))
	held := 0
	for i := 0; !h.over.Load(); i++ {
		k := i % len(parts)
		rows := lists[k]
		if len(rows) == 0 {
			lists[k] = nil
			if slices.IndexFunc(lists, func(r []Row) bool { return len(r) > 0 }) < 0 {
				t.Fatal("every row was held without passing the bound")
			}
			continue
		}
		if err := parts[k].add(rows[0]); err != nil {
			t.Fatal(err)
		}
		lists[k] = rows[1:]
		if !h.over.Load() {
			held += extsort.RowBytes(rows[0])
			if slack := len(parts) * countEvery * maxRow; held > limit+slack {
				t.Fatalf("%d bytes held in memory under a bound of %d", held, limit)
			}
		}
	}
	for _, p := range parts {
		if err := p.done(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHeldPooledRoomBounded: a fan-out over many shards that answer a
// row each does not hold a pooled slice's room a shard: past the memory
// bound, parts start in a batch's room.
func TestHeldPooledRoomBounded(t *testing.T) {
	for range 16 {
		putRows(make([]Row, 0, pooledPartRows))
	}
	const limit = 1 << 20
	h := &held{limit: limit, newSorter: func() *extsort.Sorter { return extsort.New(extsort.Config{MemBytes: limit, Dir: t.TempDir()}) }}
	defer h.close()
	var room int64
	for i := range 64 {
		p := h.part()
		if err := p.add(Row{Name: fmt.Sprintf("n%02d", i), Shard: "s"}); err != nil {
			t.Fatal(err)
		}
		room += int64(cap(p.rows)) * rowSize
		if err := p.done(); err != nil {
			t.Fatal(err)
		}
	}
	if most := int64(limit + 64*addBatch*rowSize); room > most {
		t.Fatalf("64 one-row parts hold %d bytes of room, want at most the bound and a batch a part (%d)", room, most)
	}
}
