package search_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/shearch/shearch/search"
)

// search.max_facet_bytes bounds what a facet request keeps, its by=
// groups too: each group holds counts for every asked attribute, so a
// by= over a per-node value (name) with 32 attributes cannot keep groups
// far past the bound, however few bytes their names and values take.
func TestFacetGroupsWithinMaxFacetBytes(t *testing.T) {
	per, _ := spread(3000, 2)
	f := startFleet(t, 0, per...)
	const budget = 256 << 10
	f.engine.MaxFacetBytes = budget
	attrs := make([]string, search.MaxFacetAttrs)
	for i := range attrs {
		attrs[i] = fmt.Sprintf("none%d", i) // absent: counted missing, no value kept
	}
	req := search.FacetRequest{Request: search.Request{Index: "node", Query: "*:*"}, Attrs: attrs, By: "name"}
	if _, err := f.engine.Facets(context.Background(), req); err != nil { // warm the engine's own state
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := f.engine.Facets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d groups kept (by_truncated %v): %d KiB held for a %d KiB max_facet_bytes", len(res.By), res.ByTruncated, kept>>10, budget>>10)
	if kept > 4*budget {
		t.Fatalf("the answer holds %d KiB for a %d KiB search.max_facet_bytes (%d groups of %d attributes)", kept>>10, budget>>10, len(res.By), len(attrs))
	}
	runtime.KeepAlive(res)
}
