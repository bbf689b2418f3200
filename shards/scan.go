package shards

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Scan runs a whole-object query and hands each row to fn a page at a
// time, so a caller that keeps few rows (Shearch's own query evaluation)
// holds one page, not the shard's whole index. Each row is handed over
// once. A server whose order changes between pages (goiardi's is random)
// is asked again for everything in one page, skipping the rows already
// handed over: its names are all that is kept.
func (c *Client) Scan(ctx context.Context, index, q string, fn func(Row) error) error {
	size := c.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	seen := map[string]bool{}
	for {
		overlap, err := c.scanPages(ctx, index, q, size, seen, fn)
		if err != nil || !overlap {
			return err
		}
		size = max(4*size, 2*len(seen))
	}
}

func (c *Client) scanPages(ctx context.Context, index, q string, size int, seen map[string]bool, fn func(Row) error) (overlap bool, err error) {
	onPage := map[string]bool{}
	for start := 0; ; start += size {
		p := "search/" + url.PathEscape(index) + "?q=" + url.QueryEscape(q) +
			"&start=" + strconv.Itoa(start) + "&rows=" + strconv.Itoa(size)
		data, err := c.Do(ctx, http.MethodGet, p, nil)
		if err != nil {
			return false, err
		}
		var page struct {
			Rows []map[string]any `json:"rows"`
		}
		if err := DecodeJSON(data, &page); err != nil {
			return false, fmt.Errorf("shard %s: search answer is not JSON: %v", c.Shard.Name, err)
		}
		data = nil
		for _, r := range page.Rows {
			row := toRow(r, false)
			if onPage[row.Name] {
				overlap = true // seen on an earlier page of this pass
				continue
			}
			onPage[row.Name] = true
			if seen[row.Name] {
				continue // handed over in an earlier pass
			}
			seen[row.Name] = true
			if err := fn(row); err != nil {
				return false, err
			}
		}
		if len(page.Rows) < size {
			return overlap, nil
		}
	}
}
