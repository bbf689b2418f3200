package search

import (
	"context"
	"sync"
	"time"

	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// unorderedBuffer is how many rows wait between the shards and the client
// of an order=none stream: enough to keep every shard reading, small
// enough that a slow client stops the reads instead of filling memory.
const unorderedBuffer = 256

// unorderedWholePage is the page size of an order=none stream of whole
// objects: 100 nodes of 10 KB is 1 MB held per shard.
const unorderedWholePage = 100

// streamUnordered emits rows as the shards deliver them, without a global
// sort: for exports where order does not matter, at the shards' speed.
// With no merge, a node held by two shards comes out twice (each row
// names its shard) and stale copies are not dropped. The summary, at the
// end, says which shards failed; start is ignored and rows caps the rows; rows a failing shard sent before it
// failed have already gone out. Failed shards' nodes come from the
// fallback, after the shards' rows.
func (e *Engine) streamUnordered(ctx context.Context, req *plan, begin func(ShardsSummary), emit func(Row) error) (*Result, error) {
	if err := req.resolve(e); err != nil {
		return nil, err
	}
	targets := req.targets
	clientOf := req.clientOf(e)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan Row, unorderedBuffer)
	// Whole objects come in small pages: every shard holds one page
	// while the client catches up.
	pageRows := 0
	if req.Partial == nil {
		pageRows = unorderedWholePage
	}
	answers := make([]fanout.Answer[struct{}], len(targets))
	go func() {
		defer close(rows)
		// Not fanout.Do: it bounds a shard's whole answer by the shard
		// timeout, and a stream lasts as long as its client reads. Each
		// page request keeps its own timeout.
		var wg sync.WaitGroup
		slots := make(chan struct{}, e.Concurrency)
		for i, s := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				begin := time.Now()
				a := fanout.Start[struct{}](s)
				c, err := clientOf(s)
				if err == nil {
					err = c.SearchPages(ctx, req.Index, req.Query, req.Partial, pageRows, func(r shards.Row) error {
						select {
						case rows <- Row{Name: r.Name, Shard: s.Name, Source: SourceChef, URL: partialURL(req, s.URL, r.Name), Data: r.Data}:
							a.Status.Rows++
							return nil
						case <-ctx.Done():
							return ctx.Err()
						}
					})
				}
				a.Status.TookMS = time.Since(begin).Milliseconds()
				a.Fail(err)
				fanout.Report(e.OnShardResult, s.Name, err)
				answers[i] = a
			}()
		}
		wg.Wait()
	}()
	var emitErr error
	total := 0
	for r := range rows {
		if emitErr != nil {
			continue // draining after the client went away
		}
		if req.Rows > 0 && total >= req.Rows {
			cancel() // enough rows: stop the shards, drain what is on its way
			continue
		}
		if emitErr = emit(r); emitErr != nil {
			cancel()
		}
		total++
	}
	if req.Rows > 0 && total >= req.Rows && emitErr == nil {
		return &Result{Total: total, Rows: []Row{}, Shards: ShardsSummary{Total: len(targets)}, Duplicates: []Duplicate{}}, nil
	}
	if emitErr != nil {
		return nil, emitErr
	}
	if err := fanout.Classify(answers); err != nil {
		return nil, err
	}
	if req.Index == "node" && e.Fallback != nil {
		for _, r := range fallBack(ctx, e, req, answers) {
			// As the shards' rows here: no URL unless partial, no ohai_time.
			r.URL, r.Ohai = "", ""
			if err := emit(r); err != nil {
				return nil, err
			}
			total++
		}
	}
	sum := fanout.Summarize(answers)
	if begin != nil && total == 0 {
		begin(sum)
	}
	if err := fanout.CheckFailures(sum, req.PartialDeny); err != nil {
		return nil, err
	}
	return &Result{Total: total, Start: 0, Rows: []Row{}, Shards: sum, Duplicates: []Duplicate{}}, nil
}

func partialURL(req *plan, base, name string) string {
	if req.Partial == nil {
		return ""
	}
	return objectURL(base, req.Index, name)
}
