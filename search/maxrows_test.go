package search_test

import (
	"context"
	"testing"

	"github.com/shearch/shearch/search"
)

// search.max_rows bounds every page, the default one too: a request that
// leaves rows out gets at most max_rows rows (and pages on from there),
// not Chef's default page of 1,000.
func TestMaxRowsBoundsTheDefaultPage(t *testing.T) {
	per, _ := spread(40, 2)
	f := startFleet(t, 0, per...)
	f.engine.MaxRows = 7
	res, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) > 7 || res.Total != 40 {
		t.Fatalf("rows left out, search.max_rows 7: %d rows of %d", len(res.Rows), res.Total)
	}
	if res.NextCursor == "" {
		t.Fatal("a page cut by search.max_rows has no cursor to page on with")
	}
}
