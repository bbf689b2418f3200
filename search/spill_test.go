package search_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/shearch/shearch/search"
)

// A stream in name order goes through the sorter: with a bound of a few
// rows it spills many sorted runs, and must give exactly what the
// in-memory merge gives: the same rows in the same order, duplicates
// kept once, the same window, total and duplicates list.
func TestStreamSpillsSortedRuns(t *testing.T) {
	per, names := spread(157, 5)
	// Nodes held twice, the newer copy on either side of the shard order,
	// so the merge must pick across runs.
	per[0] = append(per[0], node("node-0003", "prod", "web", "9999"))
	per[1] = append(per[1], node("node-0100", "prod", "db", "1"))
	per[4] = append(per[4], node("node-0050", "prod", "web", "8888"))
	f := startFleet(t, 7, per...)
	spillDir := t.TempDir()
	f.engine.SortBytes = 2048 // a handful of rows per run
	f.engine.SpillDir = spillDir
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  search.Request
	}{
		{"whole", search.Request{Index: "node", Query: "*:*"}},
		{"partial", search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}}}},
		{"query", search.Request{Index: "node", Query: "role:web"}},
		{"window", search.Request{Index: "node", Query: "*:*", Start: 40, Rows: 33}},
		{"window past the end", search.Request{Index: "node", Query: "*:*", Start: 150, Rows: 100}},
		{"roles", search.Request{Index: "role", Query: "*:*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var streamed []search.Row
			res, err := f.engine.Stream(ctx, tc.req, nil, func(r search.Row) error {
				streamed = append(streamed, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			page := tc.req
			if page.Rows == 0 {
				page.Rows = 10_000
			}
			want, err := f.engine.Search(ctx, page)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rowNames(streamed), rowNames(want.Rows)) || res.Total != want.Total {
				t.Fatalf("stream gave %d rows (total %d), the page %d (total %d):\n%v\n%v", len(streamed), res.Total, len(want.Rows), want.Total, rowNames(streamed), rowNames(want.Rows))
			}
			for i, r := range streamed {
				w := want.Rows[i]
				if r.Shard != w.Shard || r.Source != w.Source || fmt.Sprint(data(t, r)) != fmt.Sprint(data(t, w)) {
					t.Fatalf("row %s: stream %s %v, page %s %v", r.Name, r.Shard, data(t, r), w.Shard, data(t, w))
				}
			}
			if tc.req.Index == "node" && tc.req.Query == "*:*" && res.DuplicatesTotal != 3 {
				t.Fatalf("duplicates %+v, want node-0003, node-0050, node-0100", res.Duplicates)
			}
		})
	}
	if tc := (search.Request{Index: "node", Query: "*:*"}); true {
		var got []string
		if _, err := f.engine.Stream(ctx, tc, nil, func(r search.Row) error { got = append(got, r.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, names) {
			t.Fatalf("the stream is not every node once in name order: %v", got)
		}
	}
	if f.engine.SpilledBytes() == 0 {
		t.Fatal("no run was spilled: the test did not exercise the sorter's merge")
	}
	// The runs' file is removed as soon as it is made.
	if left, _ := os.ReadDir(spillDir); len(left) != 0 {
		t.Fatalf("%d files left in the spill directory", len(left))
	}
}

// A spill directory that cannot be written is one clear error, not a
// panic or a partial stream.
func TestStreamSpillDirMissing(t *testing.T) {
	per, _ := spread(60, 2)
	f := startFleet(t, 0, per...)
	f.engine.SortBytes = 1024
	f.engine.SpillDir = "/nonexistent/shearch-spill"
	n := 0
	_, err := f.engine.Stream(context.Background(), search.Request{Index: "node", Query: "*:*"}, nil, func(search.Row) error { n++; return nil })
	if err == nil || n != 0 {
		t.Fatalf("err %v after %d rows", err, n)
	}
	if want := "search.spill_dir"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %s", err, want)
	}
}

// A bound on the spilled bytes ends a stream that would pass it.
func TestStreamSpillBound(t *testing.T) {
	per, _ := spread(200, 2)
	f := startFleet(t, 0, per...)
	f.engine.SortBytes, f.engine.SpillBytes = 1024, 4096
	_, err := f.engine.Stream(context.Background(), search.Request{Index: "node", Query: "*:*"}, nil, func(search.Row) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "search.spill_max_bytes") {
		t.Fatalf("err %v", err)
	}
}

// A merged answer held for paging is bounded as a shard's answer is: past
// shards.max_answer_bytes it is one error naming the key, whatever the
// shards' pages were.
func TestMergedAnswerBound(t *testing.T) {
	per, _ := spread(157, 3)
	f := startFleet(t, 7, per...)
	f.engine.MaxAnswerBytes = 4000 // more than a page of 7, less than the whole answer
	_, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}, "env": {"chef_environment"}}})
	if err == nil || !strings.Contains(err.Error(), "shards.max_answer_bytes") {
		t.Fatalf("err %v", err)
	}
	f.engine.MaxAnswerBytes = 0
	res, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}, "env": {"chef_environment"}}})
	if err != nil || res.Total != 157 {
		t.Fatalf("without the bound: %v, total %v", err, res)
	}
}
