package shards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// errStop ends a page read early without being an error.
var errStop = errors.New("stop")

// Search runs a query against one index of the shard and returns every
// matching row. It pages until a short page, because `total` cannot be
// trusted (goiardi reports the page length, some servers cap it at 10,000).
// partial, when not nil, is a partial-search body: only those keys travel.
func (c *Client) Search(ctx context.Context, index, q string, partial map[string][]string) ([]Row, error) {
	var out []Row
	err := c.SearchEach(ctx, index, q, partial, func(r Row) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// SearchEach is Search that hands each row to fn as it is decoded, page by
// page, so the caller decides what to keep: memory holds one row of the
// answer plus what fn keeps, and fn's speed paces the reads.
func (c *Client) SearchEach(ctx context.Context, index, q string, partial map[string][]string, fn func(Row) error) error {
	size := c.pageSize()
	body := searchBody(index, partial)
	// The names seen, to notice pages that overlap: the server's row
	// order is then not stable between requests (goiardi's is random), so
	// pages cannot be stitched and everything is asked again in one page;
	// rows already handed over are skipped.
	seen := map[string]struct{}{}
	for {
		overlap := false
		for start := 0; ; start += size {
			n, err := c.page(ctx, index, q, body, start, size, func(r Row) error {
				key := r.Name + "\x00" + r.URL
				if _, ok := seen[key]; ok {
					overlap = true
					return nil
				}
				seen[key] = struct{}{}
				return fn(r)
			})
			if err != nil {
				return err
			}
			if n < size {
				break
			}
		}
		if !overlap {
			return nil
		}
		size = max(4*size, 2*len(seen))
	}
}

// FirstPage reads the first page of an answer, of at most size rows and
// maxBytes bytes of objects (size 0: the client's page size). complete says the page holds every match;
// when it does not (a full page, or more bytes than allowed), rows is nil
// and the caller asks for names first.
func (c *Client) FirstPage(ctx context.Context, index, q string, partial map[string][]string, size, maxBytes int) (rows []Row, complete bool, err error) {
	if size <= 0 {
		size = c.pageSize()
	}
	body := searchBody(index, partial)
	held := 0
	n, err := c.page(ctx, index, q, body, 0, size, func(r Row) error {
		held += len(r.Data) + len(r.Name)
		if maxBytes > 0 && held > maxBytes {
			return errStop
		}
		rows = append(rows, r)
		return nil
	})
	if errors.Is(err, errStop) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if n >= size {
		return nil, false, nil
	}
	return rows, true, nil
}

func (c *Client) pageSize() int {
	if c.PageSize <= 0 {
		return DefaultPageSize
	}
	return c.PageSize
}

func searchBody(index string, partial map[string][]string) map[string][]string {
	if partial == nil {
		return nil
	}
	body := make(map[string][]string, len(partial)+2)
	for k, v := range partial {
		body[k] = v
	}
	body[nameKey] = []string{"name"}
	if index == "node" {
		body[ohaiKey] = []string{"ohai_time"}
	}
	return body
}

// page asks for one page and hands its rows to fn as they are decoded. It
// returns how many rows the page had.
func (c *Client) page(ctx context.Context, index, q string, body map[string][]string, start, size int, fn func(Row) error) (int, error) {
	p := "search/" + url.PathEscape(index) + "?q=" + url.QueryEscape(q) +
		"&start=" + strconv.Itoa(start) + "&rows=" + strconv.Itoa(size)
	method := http.MethodGet
	var b any
	if body != nil {
		method, b = http.MethodPost, body
	}
	rc, err := c.DoStream(ctx, method, p, b)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := decodeRows(rc, body != nil, fn)
	var re *rowError
	if errors.As(err, &re) {
		return n, re.err
	}
	if err != nil {
		if ctx.Err() != nil {
			return n, fmt.Errorf("shard %s: %w", c.Shard.Name, ctx.Err())
		}
		return n, fmt.Errorf("shard %s: search answer is not JSON: %v", c.Shard.Name, err)
	}
	return n, nil
}

// rowError carries an error of the row callback through the decoder, so
// it is not mistaken for bad JSON.
type rowError struct{ err error }

func (e *rowError) Error() string { return e.err.Error() }

// DoStream sends one signed request and returns the body of a 2xx answer
// unread, for answers too big to hold; the caller closes it.
func (c *Client) DoStream(ctx context.Context, method, path string, body any) (io.ReadCloser, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := c.chef.NewRequest(method, strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		return nil, fmt.Errorf("shard %s: %v", c.Shard.Name, err)
	}
	req = req.WithContext(ctx)
	res, err := c.chef.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("shard %s: %w", c.Shard.Name, ctx.Err())
		}
		return nil, fmt.Errorf("shard %s: %s", c.Shard.Name, describeNetError(err))
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return nil, &StatusError{Shard: c.Shard.Name, Status: res.StatusCode, Messages: errorMessages(data)}
	}
	return res.Body, nil
}
