package search_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/fault"

	"github.com/shearch/shearch/search"
)

// The spill bound is a local limit: it must come back as one NoSpace (507) naming
// search.spill_max_bytes, whatever the number of shards and partial=deny,
// and must not be blamed on the shards.
func TestSpillBoundOneError(t *testing.T) {
	for _, deny := range []bool{false, true} {
		per, _ := spread(400, 4)
		f := startFleet(t, 0, per...)
		f.engine.SortBytes, f.engine.SpillBytes = 1024, 4096
		var blamed []string
		f.engine.OnShardResult = func(s string, err error) {
			if err != nil {
				blamed = append(blamed, s)
			}
		}
		_, err := f.engine.Stream(context.Background(), search.Request{Index: "node", Query: "*:*", PartialDeny: deny}, nil, func(search.Row) error { return nil })
		if !fault.Is(err, fault.NoSpace) || strings.Count(err.Error(), "spill_max_bytes") != 1 || len(blamed) > 0 {
			t.Errorf("deny=%v: err %v (kind %v); shards blamed: %v", deny, err, fault.KindOf(err), blamed)
		}
	}
}

// A node held by two shards is reported as a duplicate; the report holds
// its name. When the rows came back from a spilled run, that name must not
// keep the row's whole object alive (the stream is meant to hold the
// sorter's bound, and the order cache counts a duplicate as its name).
func TestDuplicateNamesDoNotPinSpilledRows(t *testing.T) {
	const n, big = 100, 40 << 10
	pad := strings.Repeat("x", big)
	mk := func() ([][]devfleet.Object, []string) {
		per := make([][]devfleet.Object, 2)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("node-%04d", i)
			for s := range per {
				o := node(name, "prod", "web", fmt.Sprint(1000+i+s))
				o["normal"] = map[string]any{"pad": pad}
				per[s] = append(per[s], o)
			}
		}
		return per, nil
	}
	retained := func(sortBytes int) (int64, int) {
		per, _ := mk()
		f := startFleet(t, 0, per...)
		f.engine.SortBytes = sortBytes
		var dups []search.Duplicate
		res, err := f.engine.Stream(context.Background(), search.Request{Index: "node", Query: "*:*"}, nil, func(search.Row) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		dups = res.Duplicates
		res = nil
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := int64(ms.HeapAlloc)
		kept := len(dups)
		runtime.KeepAlive(dups)
		dups = nil
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return before - int64(ms.HeapAlloc), kept
	}
	inMem, k1 := retained(1 << 30)
	spilled, k2 := retained(4096)
	t.Logf("bytes the %d/%d duplicates keep alive: in memory %d, spilled %d", k1, k2, inMem, spilled)
	if k1 != n || k2 != n {
		t.Fatalf("duplicates %d and %d, want %d", k1, k2, n)
	}
	if spilled > inMem+n*big/2 {
		t.Fatalf("duplicates of spilled rows keep %d bytes alive, against %d for rows sorted in memory: each name pins its row's object", spilled, inMem)
	}
}

// A client that leaves a stream (emit fails) while the request's context
// lives on (a write deadline, a facet callback's error) must not wait for
// the batch read ahead to finish its per-node reads.
func TestLeftStreamStopsReadAhead(t *testing.T) {
	const n = 1100 // a first batch of 1000, a second of 100
	per := make([][]devfleet.Object, 2)
	for i := 0; i < n; i++ {
		for s := range per {
			per[s] = append(per[s], node(fmt.Sprintf("node-%04d", i), "prod", "web", fmt.Sprint(1000+i+s)))
		}
	}
	f := startFleet(t, 0, per...)
	req := search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"name": {"name"}}}
	gone := errors.New("client gone")
	began := time.Time{}
	_, err := f.engine.Stream(context.Background(), req, nil, func(search.Row) error {
		for _, s := range f.shards {
			s.SetLatency(20 * time.Millisecond)
		}
		began = time.Now()
		return gone
	})
	took := time.Since(began)
	if !errors.Is(err, gone) {
		t.Fatalf("err %v", err)
	}
	if took > time.Second {
		t.Fatalf("Stream returned %v after the client left: the read-ahead batch ran on with the request's context", took)
	}
}
