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
	for {
		rows, overlap, err := c.searchPages(ctx, index, q, body, size)
		if err != nil || !overlap {
			return rows, err
		}
		// Pages overlapped: the server's row order is not stable between
		// requests (goiardi's is random), so pages cannot be stitched.
		// Ask again for everything in one page.
		size = max(4*size, 2*len(rows))
	}
}

// searchPages pages with start/rows until a short page. overlap reports
// a row seen on two pages.
func (c *Client) searchPages(ctx context.Context, index, q string, body map[string][]string, size int) (out []Row, overlap bool, err error) {
	seen := map[string]bool{}
	for start := 0; ; start += size {
		p := "search/" + url.PathEscape(index) + "?q=" + url.QueryEscape(q) +
			"&start=" + strconv.Itoa(start) + "&rows=" + strconv.Itoa(size)
		method := http.MethodGet
		var b any
		if body != nil {
			method, b = http.MethodPost, body
		}
		data, err := c.Do(ctx, method, p, b)
		if err != nil {
			return nil, false, err
		}
		var page struct {
			Rows []map[string]any `json:"rows"`
		}
		if err := DecodeJSON(data, &page); err != nil {
			return nil, false, fmt.Errorf("shard %s: search answer is not JSON: %v", c.Shard.Name, err)
		}
		for _, r := range page.Rows {
			row := toRow(r, body != nil)
			key := row.Name + "\x00" + row.URL
			if seen[key] {
				overlap = true
				continue
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
