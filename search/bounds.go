package search

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// A page is held whole: its objects are read, then written. Without a
// bound, rows=100000000 held every node object of the fleet for one
// answer, and a few such requests (each a slightly different query, so
// they share nothing) exhausted memory. Streams hold a bounded part of an
// answer whatever its size, so they are the way to read more.

// Bounds of one page, when the Engine leaves them zero.
const (
	DefaultMaxRows      = 10000
	DefaultMaxPageBytes = 64 << 20
)

// streamHint says how to read more than a page.
const streamHint = "or stream the whole answer from /v1/search/INDEX with Accept: application/x-ndjson"

// checkRows refuses a page of more rows than search.max_rows before any
// shard is asked.
func (e *Engine) checkRows(req Request) error {
	if max := e.MaxRows; req.Rows > max {
		return fault.Errorf(fault.TooLarge, "rows=%d is over search.max_rows (%d): ask for at most %d rows a page and page on with start or cursor, %s",
			req.Rows, max, max, streamHint)
	}
	return nil
}

// pageBudget counts the bytes of the objects one page holds; the shard
// reads filling the page stop once it is spent.
type pageBudget struct {
	limit int64
	rows  int
	used  atomic.Int64
}

type pageBudgetKey struct{}

// withPageBudget starts the budget of the page of rows lo to hi of m
// with the bytes its rows already carry (partial rows, small shards'
// objects): they count as the objects read later do.
func (e *Engine) withPageBudget(ctx context.Context, m *fullAnswer, lo, hi int) (context.Context, error) {
	b := &pageBudget{limit: e.MaxPageBytes, rows: hi - lo}
	var held int64
	for i := lo; i < hi; i++ {
		held += int64(m.ord.ents[i].data)
	}
	if err := b.charge(held); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, pageBudgetKey{}, b), nil
}

func (b *pageBudget) charge(n int64) error {
	if b.used.Add(n) <= b.limit {
		return nil
	}
	return &pageTooLarge{fault.Errorf(fault.TooLarge, "a page of %d rows is larger than search.max_page_bytes (%s): ask for fewer rows a page (rows=%d or less), %s",
		b.rows, shards.FormatBytes(b.limit), max(1, b.rows/2), streamHint)}
}

// chargePage counts n bytes of objects read into the page of ctx, if it
// has a budget (a stream's batches have none: they are bounded already).
func chargePage(ctx context.Context, n int) error {
	b, ok := ctx.Value(pageBudgetKey{}).(*pageBudget)
	if !ok {
		return nil
	}
	return b.charge(int64(n))
}

// pageTooLarge keeps the 413 whole through the shard client's wrapping.
type pageTooLarge struct{ err *fault.Error }

func (p *pageTooLarge) Error() string { return p.err.Message }
func (p *pageTooLarge) Unwrap() error { return p.err }

// pageOver is the page bound's 413 when err carries it.
func pageOver(err error) error {
	var p *pageTooLarge
	if errors.As(err, &p) {
		return p.err
	}
	return nil
}
