package shards

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
)

// Row is one search hit from one shard.
type Row struct {
	// Name orders rows globally: the object's name (for data bag items,
	// Chef's data_bag_item_BAG_ID name, as knife shows them).
	Name string
	// URL is the object's URL on the shard (partial search only).
	URL string
	// Data is the whole object, or the partial-search hash.
	Data map[string]any
}

// nameKey is added to every partial-search body so each row carries its
// name for the global order, whatever keys the caller asked for.
const nameKey = "__shearch_name"

// Search runs a query against one index of the shard and returns every
// matching row. It pages until a short page, because `total` cannot be
// trusted (goiardi reports the page length, some servers cap it at 10,000).
// partial, when not nil, is a partial-search body: only those keys travel.
//
// A broken shard must not keep Shearch busy or fill its memory: all pages
// together are bounded by MaxAnswerBytes, and a page that repeats a row of
// its own or holds a row without a name ends the request with a
// *PageError. Rows repeated across pages are legitimate once (goiardi's
// row order changes between requests): the search is asked again as one
// big page, once; overlap after that is a *PageError too.
func (c *Client) Search(ctx context.Context, index, q string, partial map[string][]string) ([]Row, error) {
	size := c.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	var body map[string][]string
	if partial != nil {
		body = make(map[string][]string, len(partial)+1)
		for k, v := range partial {
			body[k] = v
		}
		body[nameKey] = []string{"name"}
	}
	budget := c.maxAnswer()
	rows, overlap, err := c.searchPages(ctx, index, q, body, size, &budget)
	if err != nil || !overlap {
		return rows, err
	}
	// Pages overlapped: the server's row order is not stable between
	// requests (goiardi's is random), so pages cannot be stitched. Ask
	// again for everything in one page.
	size = max(4*size, 2*len(rows))
	rows, overlap, err = c.searchPages(ctx, index, q, body, size, &budget)
	if err == nil && overlap {
		return nil, &PageError{Shard: c.Shard.Name, Index: index,
			Problem: "its pages repeat rows even when asked for everything in one page of " + strconv.Itoa(size)}
	}
	return rows, err
}

// PageError is a search answer Shearch cannot trust: rows repeated within
// a page, rows without a name, pages that keep overlapping.
type PageError struct {
	Shard, Index, Problem string
}

func (e *PageError) Error() string {
	return fmt.Sprintf("shard %s: search of %s: %s; check that Chef server's search index", e.Shard, e.Index, e.Problem)
}

// searchPages pages with start/rows until a short page. overlap reports
// a row seen on two pages, which ends the paging. budget is what is left of the answer bound.
func (c *Client) searchPages(ctx context.Context, index, q string, body map[string][]string, size int, budget *int64) (out []Row, overlap bool, err error) {
	seen := map[string]bool{}
	for start := 0; ; start += size {
		p, err := SearchPath(index, q, start, size)
		if err != nil {
			return nil, false, err
		}
		method := http.MethodGet
		var b any
		if body != nil {
			method, b = http.MethodPost, body
		}
		if *budget <= 0 {
			return nil, false, &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
		}
		data, err := c.do(ctx, method, p, b, *budget)
		if err != nil {
			return nil, false, err
		}
		*budget -= int64(len(data))
		var page struct {
			Rows []map[string]any `json:"rows"`
		}
		if err := DecodeJSON(data, &page); err != nil {
			return nil, false, fmt.Errorf("shard %s: search answer is not JSON: %v", c.Shard.Name, err)
		}
		inPage := make(map[string]bool, len(page.Rows))
		for i, r := range page.Rows {
			row := toRow(r, body != nil)
			if row.Name == "" {
				return nil, false, &PageError{Shard: c.Shard.Name, Index: index,
					Problem: fmt.Sprintf("row %d of the page at start=%d has no name", i, start)}
			}
			key := row.Name + "\x00" + row.URL
			if inPage[key] {
				return nil, false, &PageError{Shard: c.Shard.Name, Index: index,
					Problem: fmt.Sprintf("the page at start=%d holds %q twice", start, row.Name)}
			}
			inPage[key] = true
			if seen[key] {
				// Stop here: a shard that ignores start would page forever.
				return out, true, nil
			}
			seen[key] = true
			out = append(out, row)
		}
		if len(page.Rows) < size {
			return out, overlap, nil
		}
	}
}

func toRow(r map[string]any, partial bool) Row {
	if !partial {
		name, _ := r["name"].(string)
		if name == "" {
			// Data bag items as some servers return them: raw items with an id.
			if id, ok := r["id"].(string); ok {
				name = id
			}
		}
		return Row{Name: name, Data: r}
	}
	u, _ := r["url"].(string)
	data, _ := r["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	name, _ := data[nameKey].(string)
	delete(data, nameKey)
	if name == "" && u != "" {
		if pu, err := url.Parse(u); err == nil {
			name = path.Base(pu.Path)
		}
	}
	return Row{Name: name, URL: u, Data: data}
}
