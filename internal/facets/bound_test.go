package facets

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/shearch/shearch/search/result"
)

// search.max_facet_bytes bounds what a facet request keeps, its by=
// groups too: each group holds counts for every asked attribute, so a
// by= over a per-node value (name) with 32 attributes cannot keep groups
// far past the bound, however few bytes their names and values take.
func TestFacetGroupsWithinMaxFacetBytes(t *testing.T) {
	src := &fakeStream{shards: []string{"s0", "s1"}}
	for i := range 3000 {
		name := fmt.Sprintf("node-%04d", i)
		src.rows = append(src.rows, partialRow(name, fmt.Sprintf("s%d", i%2), map[string]any{"name": name}))
	}
	const budget = 256 << 10
	cfg := Config{MaxBytes: budget}
	attrs := make([]string, MaxAttrs)
	for i := range attrs {
		attrs[i] = fmt.Sprintf("none%d", i) // absent: counted missing, no value kept
	}
	req := Request{Request: result.Request{Index: "node", Query: "*:*"}, Attrs: attrs, By: "name"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := Count(context.Background(), src, cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d groups kept (by_truncated %v): %d KiB held for a %d KiB max_facet_bytes", len(res.By), res.ByTruncated, kept>>10, budget>>10)
	if !res.ByTruncated || res.ByOther == nil || res.ByOther.Total+len(res.By) != 3000 {
		t.Fatalf("%d groups, by_truncated %v: the bound was not reached, the test proves nothing", len(res.By), res.ByTruncated)
	}
	if kept > 4*budget {
		t.Fatalf("the answer holds %d KiB for a %d KiB search.max_facet_bytes (%d groups of %d attributes)", kept>>10, budget>>10, len(res.By), len(attrs))
	}
	runtime.KeepAlive(res)
}
