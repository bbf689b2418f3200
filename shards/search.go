package shards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// errStop ends a page read early without being an error.
var errStop = errors.New("stop")

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
	// Each page's rows are kept as read, and copied once into a slice of
	// the exact size at the end, rather than appended one by one into a
	// slice grown by doubling (each row copied about three times).
	var pages [][]Row
	total := 0
	budget := c.maxAnswer()
	err := c.searchPages(ctx, index, q, partial, 0, &budget, false, func(rows []Row) error {
		if len(rows) > 0 {
			pages = append(pages, rows)
			total += len(rows)
		}
		return nil
	})
	if len(pages) == 1 && cap(pages[0])-len(pages[0]) <= firstRows {
		return pages[0], err
	}
	var out []Row
	if total > 0 {
		out = make([]Row, 0, total)
	}
	for _, p := range pages {
		out = append(out, p...)
	}
	return out, err
}

// PageError is a search answer Shearch cannot trust: rows repeated within
// a page, rows without a name, pages that keep overlapping.
type PageError struct {
	Shard, Index, Problem string
}

func (e *PageError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *PageError) Detail() string {
	return fmt.Sprintf("search of %s: %s; check that Chef server's search index", e.Index, e.Problem)
}

// ShardName is the shard that failed.
func (e *PageError) ShardName() string { return e.Shard }

// SearchEach is Search that hands each row to fn as it is decoded, page by
// page, so the caller decides what to keep: memory holds one row of the
// answer plus what fn keeps, and fn's speed paces the reads.
func (c *Client) SearchEach(ctx context.Context, index, q string, partial map[string][]string, fn func(Row) error) error {
	return c.SearchPages(ctx, index, q, partial, 0, fn)
}

// SearchPages is SearchEach with pages of size rows (0: the client's page
// size). Each page is read whole before fn sees its rows, so a slow fn
// holds no shard connection open (nor its timeout): memory holds a page.
// As fn keeps what it needs, MaxAnswerBytes bounds each page here, not
// the whole answer: a stream of a whole fleet is larger than any bound.
func (c *Client) SearchPages(ctx context.Context, index, q string, partial map[string][]string, size int, fn func(Row) error) error {
	return c.searchPages(ctx, index, q, partial, size, nil, true, func(rows []Row) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// searchPages pages until a short page, handing fn the new rows of each
// page; budget, when not nil, bounds the bytes of all pages together, else
// each page is bounded alone. With reuse, the next page is read into the
// slice fn was given (fn keeps rows, not the slice), else fn may keep it.
func (c *Client) searchPages(ctx context.Context, index, q string, partial map[string][]string, size int, budget *int64, reuse bool, fn func([]Row) error) error {
	if size <= 0 {
		size = c.pageSize()
	}
	body := searchBody(index, partial)
	// The names seen, to notice pages that overlap: the server's row
	// order is then not stable between requests (goiardi's is random), so
	// pages cannot be stitched and everything is asked again in one page;
	// rows already handed over are skipped. Kept as 64-bit hashes, 8 bytes
	// a row however long the names: two names of one shard colliding
	// (about 1 in 10^9 at a million rows) would drop a row only if pages
	// also overlapped. On a round's first page the names seen are the
	// page's own: that page's set becomes seen if a second page is asked
	// for, so an answer of one page builds one set, not two.
	seed := maphash.MakeSeed()
	var seen, handed map[uint64]struct{}
	inPage := make(map[uint64]struct{}, min(size, 1024))
	var buf []Row
	if reuse {
		// A page's slice (up to maxPresize rows, 400 KB) outlives no
		// call: the next search of any shard reads into it.
		if pb, ok := pageBufs.Get().(*[]Row); ok {
			buf = *pb
		}
		defer func() {
			if cap(buf) > 0 && cap(buf) <= maxPresize+1 {
				clear(buf[:cap(buf)])
				buf = buf[:0]
				pageBufs.Put(&buf)
			}
		}()
	}
	for retried := false; ; retried = true {
		overlap := false
		for start := 0; ; start += size {
			limit := c.maxAnswer()
			if budget != nil {
				if *budget <= 0 {
					return &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
				}
				limit = *budget
			}
			rows, n, read, _, err := c.readPage(ctx, index, q, body, start, size, limit, 0, buf)
			if budget != nil {
				*budget -= read
			}
			if err != nil {
				return err
			}
			// The page is checked whole (a bad page is named once it is
			// read to its end, so an answer past the bound is reported as
			// that first) and its new rows are kept in place.
			kept := 0
			clear(inPage)
			for _, r := range rows {
				if r.Name == "" {
					return &PageError{Shard: c.Shard.Name, Index: index,
						Problem: fmt.Sprintf("row %d of the page at start=%d has no name", len(inPage), start)}
				}
				key := maphash.String(seed, r.Name)
				if _, ok := inPage[key]; ok {
					return &PageError{Shard: c.Shard.Name, Index: index,
						Problem: fmt.Sprintf("the page at start=%d holds %q twice", start, r.Name)}
				}
				inPage[key] = struct{}{}
				if start > 0 {
					if _, ok := seen[key]; ok {
						// Stop at the first repeat: a shard that
						// ignores start would page forever.
						overlap = true
						break
					}
					seen[key] = struct{}{}
				}
				if _, ok := handed[key]; !ok {
					rows[kept] = r
					kept++
				}
			}
			if n > size {
				return &PageError{Shard: c.Shard.Name, Index: index,
					Problem: fmt.Sprintf("the page at start=%d holds %d rows, more than the %d asked for", start, n, size)}
			}
			clear(rows[kept:])
			if err := fn(rows[:kept]); err != nil {
				return err
			}
			if reuse {
				clear(rows[:kept])
				buf = rows[:0]
			}
			if n < size || overlap {
				break
			}
			if start == 0 {
				seen, inPage = inPage, make(map[uint64]struct{}, min(size, 1024))
			}
		}
		if !overlap {
			return nil
		}
		if retried {
			return &PageError{Shard: c.Shard.Name, Index: index,
				Problem: "its pages repeat rows even when asked for everything in one page of " + strconv.Itoa(size)}
		}
		size = max(4*size, 2*len(seen))
		// The retry sees again what fn already has: skipped, not overlap.
		handed, seen = seen, nil
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
	rows, n, _, stopped, err := c.readPage(ctx, index, q, body, 0, size, c.maxAnswer(), maxBytes, nil)
	if err != nil || stopped || n >= size {
		return nil, false, err
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

// A page's slice starts at firstRows rows, enough for most queries'
// answers; a page that fills it is a large one, and its slice is then
// made for the whole page at once (up to maxPresize rows: retries ask for
// pages of any size, and past that only what the shard sends is worth
// making room for), not grown by doubling.
const (
	firstRows  = 64
	maxPresize = 4096
)

// readPage asks for one page and returns its rows once the page is read,
// in buf's array when it has room. It returns how many rows the page had (at most size+1 are
// kept, for the callers' page checks) and how many bytes it read; an
// answer over limit bytes is an *AnswerTooLargeError. stopAt, when > 0,
// ends the read once the rows hold that many bytes (stopped reports it,
// and no rows are returned). The request goes through the shard's guard
// like any other: the slot is held while the page is read, and a retried
// request starts the page afresh, as the caller only sees a page that was
// read whole.
// pageBufs are page slices that searches reading with reuse hand back.
var pageBufs sync.Pool

func (c *Client) readPage(ctx context.Context, index, q string, body map[string][]string, start, size int, limit int64, stopAt int, buf []Row) (rows []Row, n int, read int64, stopped bool, err error) {
	p, err := SearchPath(index, q, start, size)
	if err != nil {
		return nil, 0, 0, false, err
	}
	method := http.MethodGet
	var b any
	if body != nil {
		method, b = http.MethodPost, body
	}
	if cap(buf) == 0 {
		buf = make([]Row, 0, min(size+1, firstRows))
	}
	rows = buf[:0]
	send := func(ctx context.Context) (int, []byte, error) {
		clear(rows)
		rows, n, read, stopped = rows[:0], 0, 0, false
		rc, status, err := c.DoStream(ctx, method, p, b)
		if err != nil {
			return status, nil, err
		}
		defer rc.Close()
		lr := &countingReader{r: io.LimitReader(rc, limit+1)}
		held := 0
		n, err = decodeRows(lr, body != nil, func(r Row) error {
			held += len(r.Data) + len(r.Name)
			if stopAt > 0 && held > stopAt {
				stopped = true
				return errStop
			}
			// A page never holds more rows than asked for: a shard
			// sending more is read on (to the answer bound) but not kept.
			if len(rows) <= size { // one more, for the callers' page checks
				if len(rows) == cap(rows) && cap(rows) < min(size+1, maxPresize) {
					rows = slices.Grow(rows, min(size+1, maxPresize)-len(rows))
				}
				rows = append(rows, r)
			}
			return nil
		})
		// Read the answer to its end before the slot is given back: the
		// shard is busy until it has sent its last byte, and a body left
		// unread also closes a connection that could be reused.
		if _, derr := io.Copy(io.Discard, lr); derr != nil && err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		read = lr.n
		if lr.n > limit {
			return status, nil, &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
		}
		if stopped {
			return status, nil, nil
		}
		if err == nil && n > size+1 {
			return status, nil, &PageError{Shard: c.Shard.Name, Index: index,
				Problem: fmt.Sprintf("the page at start=%d holds %d rows, more than the %d asked for", start, n, size)}
		}
		if err != nil {
			if ctx.Err() != nil {
				return status, nil, shardErrorf(c.Shard.Name, "%w", ctx.Err())
			}
			return status, nil, shardErrorf(c.Shard.Name, "search answer is not JSON: %v", err)
		}
		return status, nil, nil
	}
	if c.Guard == nil {
		_, _, err = send(ctx)
	} else {
		// Searches are reads even when POSTed (partial search).
		_, err = c.Guard.Do(ctx, true, send)
	}
	if err != nil || stopped {
		clear(rows)
		return nil, n, read, stopped, err
	}
	return rows, n, read, false, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// rowError carries an error of the row callback through the decoder, so
// it is not mistaken for bad JSON.
type rowError struct{ err error }

func (e *rowError) Error() string { return e.err.Error() }

// DoStream sends one signed request and returns the body of a 2xx answer
// unread, for answers too big to hold, and the status; the caller closes
// the body and bounds what it reads. It does not go through the shard's
// guard: callers that do (page) hold its slot while they read. The path
// comes only from this package's builders.
func (c *Client) DoStream(ctx context.Context, method string, p Path, body any) (io.ReadCloser, int, error) {
	if p.IsZero() {
		return nil, 0, shardErrorf(c.Shard.Name, "refusing a request without a checked path")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := c.chef.NewRequest(method, p.rel, rd)
	if err != nil {
		return nil, 0, shardErrorf(c.Shard.Name, "%v", err)
	}
	req = req.WithContext(ctx)
	if id := RequestID(ctx); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	res, err := c.chef.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, shardErrorf(c.Shard.Name, "%w", ctx.Err())
		}
		return nil, 0, &NetError{Shard: c.Shard.Name, Err: err}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return nil, res.StatusCode, &StatusError{Shard: c.Shard.Name, Status: res.StatusCode, Messages: errorMessages(data)}
	}
	if res.ContentLength > c.maxAnswer() {
		res.Body.Close()
		return nil, res.StatusCode, &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
	}
	return res.Body, res.StatusCode, nil
}
