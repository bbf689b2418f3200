package extsort

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/fault"
)

func manyRows(n int) []Row {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Name: fmt.Sprintf("node-%04d", rng.IntN(n/3+1)), Shard: fmt.Sprintf("chef-%d", rng.IntN(4)), Source: "chef",
			Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), Ohai: fmt.Sprint(i)}
	}
	return rows
}

func row(name, shard, source string) Row {
	return Row{Name: name, Shard: shard, Source: source, Data: json.RawMessage(`"` + name + "@" + shard + "/" + source + `"`)}
}

// drain reads a sorter's whole merged order.
func drain(t *testing.T, s *Sorter) []Row {
	t.Helper()
	next, err := s.Sorted()
	if err != nil {
		t.Fatal(err)
	}
	var out []Row
	for {
		r, ok, err := next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, r)
	}
}

// The merge gives every row added once, in (name, shard) order, whether
// the rows stayed in memory or went to runs, and keeps every copy of a
// name (and of a name and shard) that several runs hold: choosing among
// copies is the caller's rule, not the sorter's.
func TestMergeOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		memBytes int
		batches  [][]Row
		minRuns  int
	}{
		{"nothing", 1, nil, 0},
		{"in memory", 1 << 20, [][]Row{manyRows(60)}, 0},
		{"a run a row", 1, [][]Row{{row("c", "s1", "chef"), row("a", "s2", "chef"), row("b", "s1", "chef")}}, 3},
		{"a name in every run", 1, [][]Row{
			{row("n", "s3", "chef")}, {row("m", "s1", "chef")}, {row("n", "s1", "chef")}, {row("o", "s1", "chef")}, {row("n", "s2", "chef")},
		}, 5},
		{"a name and shard twice", 1, [][]Row{{row("n", "s1", "chef")}, {row("a", "s1", "chef")}, {row("n", "s1", "consul")}}, 3},
		{"runs and memory", 300, [][]Row{
			{row("d", "s1", "chef"), row("b", "s2", "chef"), row("b", "s1", "chef")},
			{row("a", "s1", "chef"), row("d", "s2", "chef")},
			{row("b", "s1", "consul")},
		}, 1},
		{"many runs", 2048, [][]Row{manyRows(400), manyRows(400)[:100]}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{MemBytes: tc.memBytes, Dir: t.TempDir()})
			defer s.Close()
			var all []Row
			for _, b := range tc.batches {
				if err := s.Add(b...); err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			if len(s.runs) < tc.minRuns {
				t.Fatalf("%d runs, want at least %d: the case does not merge what it means to", len(s.runs), tc.minRuns)
			}
			if s.Count() != len(all) {
				t.Fatalf("count %d, added %d", s.Count(), len(all))
			}
			got := drain(t, s)
			if !slices.IsSortedFunc(got, Compare) {
				t.Fatalf("out of order: %v", keys(got))
			}
			// The same rows, copies included: compare as multisets.
			byAll := func(a, b Row) int {
				return cmp.Or(Compare(a, b), strings.Compare(a.Source, b.Source), strings.Compare(string(a.Data), string(b.Data)))
			}
			want := slices.Clone(all)
			slices.SortFunc(want, byAll)
			slices.SortFunc(got, byAll)
			if len(got) != len(want) {
				t.Fatalf("%d rows back, %d added", len(got), len(want))
			}
			for i := range got {
				if byAll(got[i], want[i]) != 0 || got[i].Ohai != want[i].Ohai {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func keys(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Name + "@" + r.Shard
	}
	return out
}

// Many goroutines add at once, as a fan-out's shards do: no row is lost
// and the runs merge into one order.
func TestConcurrentAdds(t *testing.T) {
	s := New(Config{MemBytes: 4096, Dir: t.TempDir()})
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := s.Add(row(fmt.Sprintf("n%03d", i), fmt.Sprintf("s%d", g), "chef")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := drain(t, s)
	if len(got) != 400 || !slices.IsSortedFunc(got, Compare) || len(s.runs) == 0 {
		t.Fatalf("%d rows, sorted %v, %d runs", len(got), slices.IsSortedFunc(got, Compare), len(s.runs))
	}
}

// search.spill_max_bytes bounds what one sort writes to search.spill_dir
// (and takes of search.spill_total_bytes): the run that would pass it is
// refused before it is written, not found too large once it is on disk.
func TestSpillStopsAtItsBound(t *testing.T) {
	b := NewBudget(0)
	s := New(Config{MemBytes: 4096, MaxBytes: 1000, Dir: t.TempDir(), Budget: b})
	defer s.Close()
	data := []byte(`{"v":"` + strings.Repeat("x", 200) + `"}`)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Add(Row{Name: fmt.Sprintf("n%03d", i), Shard: "chef-1", Data: data})
	}
	want := "the answer is larger than search.spill_max_bytes (1000 bytes) once sorted: narrow the query, or stream it with order=none"
	if err == nil || err.Error() != want || !fault.Is(err, fault.NoSpace) {
		t.Fatalf("err %v (kind %v), want %q, no space", err, fault.KindOf(err), want)
	}
	if s.spilled > s.maxSpilled || s.reserved > s.maxSpilled || b.InUse() != s.reserved {
		t.Fatalf("%d bytes written and %d taken of the shared budget (which holds %d) for a sort bounded to %d", s.spilled, s.reserved, b.InUse(), s.maxSpilled)
	}
	// A failed sorter keeps its error: later adds and the merge say it.
	if err := s.Add(row("z", "s", "chef")); err == nil || err.Error() != want {
		t.Fatalf("add after failure: %v", err)
	}
	if _, err := s.Sorted(); err == nil || err.Error() != want {
		t.Fatalf("sorted after failure: %v", err)
	}
	s.Close()
	if b.InUse() != 0 {
		t.Fatalf("%d bytes of the budget still held after close", b.InUse())
	}
}

// A spill directory that cannot be written is one Internal error naming
// search.spill_dir, with the system's error as its cause.
func TestSpillDirMissing(t *testing.T) {
	s := New(Config{MemBytes: 1, Dir: "/nonexistent/shearch-spill"})
	defer s.Close()
	err := s.Add(row("a", "s", "chef"))
	want := "sorting a large answer needs a temporary file: open /nonexistent/shearch-spill/shearch-sort-"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ": no such file or directory; set search.spill_dir to a writable directory") {
		t.Fatalf("err %v", err)
	}
	if !fault.Is(err, fault.Internal) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err %v: kind %v, not-exist %v", err, fault.KindOf(err), errors.Is(err, fs.ErrNotExist))
	}
}

// A run that cannot be written (the disk is full) is NoSpace naming
// search.spill_dir.
func TestSpillWriteFails(t *testing.T) {
	s := New(Config{MemBytes: 1, Dir: t.TempDir()})
	defer s.Close()
	if err := s.Add(row("a", "s", "chef")); err != nil {
		t.Fatal(err)
	}
	s.file.Close() // the next run's write fails as a full disk's would
	err := s.Add(row("b", "s", "chef"))
	if err == nil || !fault.Is(err, fault.NoSpace) ||
		!strings.HasPrefix(err.Error(), "writing a sorted run to search.spill_dir: ") ||
		!strings.HasSuffix(err.Error(), "; free space there or point search.spill_dir elsewhere") {
		t.Fatalf("err %v (kind %v)", err, fault.KindOf(err))
	}
}

// The budget bounds all sorts together: a sort that would pass it is
// refused (Unavailable, come back in 10 s) and takes nothing, and what
// a sort held is given back when it closes.
func TestBudgetShared(t *testing.T) {
	b := NewBudget(2048)
	first := New(Config{MemBytes: 1, Dir: t.TempDir(), Budget: b})
	defer first.Close()
	big := Row{Name: "a", Shard: "s", Data: json.RawMessage(`"` + strings.Repeat("x", 1500) + `"`)}
	if err := first.Add(big); err != nil {
		t.Fatal(err)
	}
	held := b.InUse()
	if held == 0 || held != first.reserved {
		t.Fatalf("budget holds %d, the sort reserved %d", held, first.reserved)
	}
	second := New(Config{MemBytes: 1, Dir: t.TempDir(), Budget: b})
	defer second.Close()
	err := second.Add(big)
	want := "the sorted runs of all requests together would pass search.spill_total_bytes (2 KiB): retry later, narrow the query, or stream it with order=none (no sort, no spill)"
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Unavailable || fe.RetryAfter != 10*time.Second || err.Error() != want {
		t.Fatalf("err %v (%#v), want %q, unavailable, retry after 10s", err, fe, want)
	}
	if b.InUse() != held {
		t.Fatalf("a refused run took %d bytes of the budget", b.InUse()-held)
	}
	first.Close()
	second.Close()
	if b.InUse() != 0 {
		t.Fatalf("%d bytes still held once both sorts closed", b.InUse())
	}
	if NewBudget(0).limit != DefaultTotalBytes || (*Budget)(nil).InUse() != 0 {
		t.Fatal("the default budget, or a nil one")
	}
}

// Each run written is heard once, with its bytes.
func TestSpilledHearsRuns(t *testing.T) {
	var runs []int64
	s := New(Config{MemBytes: 1, Dir: t.TempDir(), Spilled: func(n int64) { runs = append(runs, n) }})
	defer s.Close()
	for _, name := range []string{"b", "a"} {
		if err := s.Add(row(name, "s", "chef")); err != nil {
			t.Fatal(err)
		}
	}
	if len(runs) != 2 || runs[0]+runs[1] != s.spilled {
		t.Fatalf("heard %v, spilled %d", runs, s.spilled)
	}
}

// A sorter starts in the held slice a closed one gave back: it must hold
// its own rows only, never the earlier sorter's.
func TestSorterAfterClosedOneHoldsOnlyItsRows(t *testing.T) {
	first := New(Config{})
	if err := first.Add(manyRows(3000)...); err != nil {
		t.Fatal(err)
	}
	drain(t, first)
	first.Close()
	for round := range 3 {
		s := New(Config{})
		want := []Row{row("b", "chef-1", "chef"), row("a", "chef-2", "chef"), row("a", "chef-1", "chef")}
		if err := s.Add(want...); err != nil {
			t.Fatal(err)
		}
		got := drain(t, s)
		s.Close()
		Sort(want)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d rows, want %d", round, len(got), len(want))
		}
		for i := range got {
			if got[i].Name != want[i].Name || got[i].Shard != want[i].Shard || string(got[i].Data) != string(want[i].Data) {
				t.Fatalf("round %d: row %d is %+v, want %+v", round, i, got[i], want[i])
			}
		}
	}
}

// Rows sorted and held elsewhere go in as runs of their own, among rows
// added one by one: the merge gives every row once in (name, shard)
// order, and a run is held to search.spill_max_bytes as the sorter's own
// are.
func TestAddRun(t *testing.T) {
	rows := manyRows(900)
	s := New(Config{MemBytes: 4096, Dir: t.TempDir()})
	defer s.Close()
	for lo := 0; lo < 600; lo += 200 {
		part := slices.Clone(rows[lo : lo+200])
		ord := make([]int, len(part))
		for i := range ord {
			ord[i] = i
		}
		slices.SortFunc(ord, func(a, b int) int { return Compare(part[a], part[b]) })
		if err := s.AddRun(len(part), func(i int) *Row { return &part[ord[i]] }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(rows[600:]...); err != nil {
		t.Fatal(err)
	}
	got := drain(t, s)
	want := slices.Clone(rows)
	Sort(want)
	if s.Count() != len(rows) || !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("%d rows counted, %d merged, want %d in order", s.Count(), len(got), len(rows))
	}
	small := New(Config{MaxBytes: 1000, Dir: t.TempDir()})
	defer small.Close()
	err := small.AddRun(len(rows), func(i int) *Row { return &rows[i] })
	if err == nil || !strings.Contains(err.Error(), "search.spill_max_bytes") || small.spilled > 1000 {
		t.Fatalf("a run past the bound: %v, %d bytes written", err, small.spilled)
	}
}
