package search

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
)

func checkRows(t *testing.T, rows []Row, want int) {
	t.Helper()
	if len(rows) != want {
		t.Fatalf("got %d rows, want %d", len(rows), want)
	}
	for i, r := range rows {
		if i > 0 && rows[i-1].Name >= r.Name {
			t.Fatalf("rows out of order or twice: %s then %s", rows[i-1].Name, r.Name)
		}
		if r.Object()["chef_type"] != "node" && r.Source == SourceChef {
			t.Fatalf("row %s has no whole object: %s", r.Name, r.Data)
		}
	}
}

func queriesLike(f *dataShard, prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, q := range f.queries {
		if strings.HasPrefix(q, prefix) {
			n++
		}
	}
	return n
}

// A shard with more than a page is read names first and a page's objects
// come from name:(...) searches, never one GET per node; the next page of
// the walk reuses the merged order instead of fanning out again.
func TestWalkReadsNamesFirstAndReusesOrder(t *testing.T) {
	a := newDataShard(t, "a", 700, 2000, nil)
	b := newDataShard(t, "b", 900, 2000, nil)
	e := dataEngine(t, a, b)
	e.FirstPageBytes = 1 << 10 // both shards have more than a first page
	ctx := context.Background()
	var got []Row
	for start := 0; ; start += 1000 {
		res, err := e.Search(ctx, Request{Index: "node", Query: "*:*", Start: start})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 1600 {
			t.Fatalf("total %d, want 1600", res.Total)
		}
		got = append(got, res.Rows...)
		if start+1000 >= res.Total {
			break
		}
	}
	checkRows(t, got, 1600)
	for _, f := range []*dataShard{a, b} {
		if g := f.gets.Load(); g != 0 {
			t.Errorf("%d GETs of single nodes, want none", g)
		}
		// first page and names pass, once for the whole walk (*:* needs
		// no separate map of duplicated nodes: it meets every copy)
		if n := queriesLike(f, "*:*"); n != 2 {
			t.Errorf("%d *:* searches over a walk of 2 pages, want 2 (first page, names)", n)
		}
	}
}

// A query whose matches fit in one page on each shard is answered from
// the first fan-out: no names pass, no object fetch.
func TestSmallAnswerInOneRoundTrip(t *testing.T) {
	a := newDataShard(t, "a", 30, 2000, nil)
	b := newDataShard(t, "b", 30, 2000, nil)
	e := dataEngine(t, a, b)
	res, err := e.Search(context.Background(), Request{Index: "node", Query: "role:web", Rows: 20})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res.Rows, 20)
	if res.Total != 30 {
		t.Fatalf("total %d, want 30", res.Total)
	}
	for _, f := range []*dataShard{a, b} {
		// The small page, and the names asked alongside it and dropped.
		if n := queriesLike(f, "role:"); n < 1 || n > 2 {
			t.Errorf("%d role searches, want the page (and at most the names beside it)", n)
		}
		if n := queriesLike(f, "name:"); n != 0 || f.gets.Load() != 0 {
			t.Errorf("objects fetched again: %d name searches, %d GETs", n, f.gets.Load())
		}
	}
}

// Partial search is a single fan-out, and Shearch's own keys never show.
func TestPartialOneFanOut(t *testing.T) {
	a := newDataShard(t, "a", 1500, 500, nil)
	e := dataEngine(t, a)
	res, err := e.Search(context.Background(), Request{Index: "node", Query: "role:web", Partial: map[string][]string{"ip": {"ipaddress"}}, Rows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 750 || len(res.Rows) != 10 {
		t.Fatalf("total %d rows %d", res.Total, len(res.Rows))
	}
	if got := string(res.Rows[0].Data); got != `{"ip":"10.0.0.0"}` {
		t.Fatalf("partial row %s", got)
	}
	if n := queriesLike(a, "role:"); n != 1 {
		t.Errorf("%d role searches, want 1", n)
	}
}

// Duplicates are listed for the page; the count covers the rest.
func TestDuplicatesPerPage(t *testing.T) {
	a := newDataShard(t, "n", 50, 500, nil)
	b := newDataShard(t, "n", 50, 500, func(i int) string { return fmt.Sprintf("1794484759.%d", i) })
	e := dataEngine(t, a, b)
	res, err := e.Search(context.Background(), Request{Index: "node", Query: "*:*", Rows: 10, Start: 10})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res.Rows, 10)
	if len(res.Duplicates) != 10 || res.DuplicatesTotal != 50 {
		t.Fatalf("duplicates %d (total %d), want 10 of 50", len(res.Duplicates), res.DuplicatesTotal)
	}
	for i, r := range res.Rows {
		if r.Shard != "s01" || res.Duplicates[i].Name != r.Name {
			t.Fatalf("row %s from %s, duplicate %+v: the newest copy is on s01", r.Name, r.Shard, res.Duplicates[i])
		}
	}
}

func TestStreamOrderedAndUnordered(t *testing.T) {
	a := newDataShard(t, "a", 1300, 1000, nil)
	b := newDataShard(t, "b", 800, 1000, nil)
	e := dataEngine(t, a, b)
	e.FirstPageBytes = 1 << 10
	for _, order := range []string{"", OrderNone} {
		var rows []Row
		res, err := e.Stream(context.Background(), Request{Index: "node", Query: "*:*", Order: order}, nil, func(r Row) error {
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if order == OrderNone {
			sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
		}
		checkRows(t, rows, 2100)
		if res.Total != 2100 {
			t.Fatalf("order %q: total %d", order, res.Total)
		}
	}
	if a.gets.Load()+b.gets.Load() != 0 {
		t.Fatal("a stream read nodes one GET at a time")
	}
}

// A client that stops reading ends the stream and its shard reads.
func TestStreamStopsWithClient(t *testing.T) {
	a := newDataShard(t, "a", 3000, 500, nil)
	e := dataEngine(t, a)
	for _, order := range []string{"", OrderNone} {
		n := 0
		_, err := e.Stream(context.Background(), Request{Index: "node", Query: "*:*", Order: order}, nil, func(r Row) error {
			if n++; n == 10 {
				return fmt.Errorf("client gone")
			}
			return nil
		})
		if err == nil || n != 10 {
			t.Fatalf("order %q: err %v after %d rows", order, err, n)
		}
	}
}

func TestQueryTerm(t *testing.T) {
	for in, want := range map[string]string{
		"web-1.example.com": "web-1.example.com",
		"a*b?c":             `a\*b\?c`,
		"x/y:z":             `x\/y\:z`,
		"-lead":             "",
		"sp ace":            "",
	} {
		got, ok := queryTerm(in)
		if got != want || ok != (want != "") {
			t.Errorf("queryTerm(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}
