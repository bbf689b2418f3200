package search

import (
	"context"
	"sync"

	"github.com/shearch/shearch/shards"
)

// unorderedBuffer is how many rows wait between the shards and the client
// of an order=none stream: enough to keep every shard reading, small
// enough that a slow client stops the reads instead of filling memory.
const unorderedBuffer = 256

// streamUnordered emits rows as the shards deliver them, without a global
// sort: for exports where order does not matter, at the shards' speed.
// With no merge, a node held by two shards comes out twice (each row
// names its shard) and stale copies are not dropped. The summary, at the
// end, says which shards failed; start is ignored and rows caps the rows; rows a failing shard sent before it
// failed have already gone out. Failed shards' nodes come from the
// fallback, after the shards' rows.
func (e *Engine) streamUnordered(ctx context.Context, req Request, begin func(ShardsSummary), emit func(Row) error) (*Result, error) {
	targets, err := e.Targets(req.Stack, req.Shards)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan Row, unorderedBuffer)
	var mu sync.Mutex
	counts := map[string]int{}
	var answers []shardAnswer
	go func() {
		defer close(rows)
		answers = e.fanOut(ctx, targets, func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
			n := 0
			defer func() {
				mu.Lock()
				counts[c.Shard.Name] = n
				mu.Unlock()
			}()
			return nil, c.SearchEach(ctx, req.Index, req.Query, req.Partial, func(r shards.Row) error {
				select {
				case rows <- Row{Name: r.Name, Shard: c.Shard.Name, Source: SourceChef, URL: r.URL, Data: r.Data}:
					n++
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		})
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
	for i := range answers {
		answers[i].status.Rows = counts[answers[i].shard.Name]
	}
	if err := classify(answers); err != nil {
		return nil, err
	}
	if req.Index == "node" && e.Fallback != nil {
		e.fallBack(ctx, req, answers)
		for _, a := range answers {
			if !a.fromFallback {
				continue
			}
			for _, r := range a.rows {
				if err := emit(Row{Name: r.Name, Shard: a.shard.Name, Source: SourceConsul, Data: r.Data}); err != nil {
					return nil, err
				}
				total++
			}
		}
	}
	sum := summarize(answers)
	if begin != nil && total == 0 {
		begin(sum)
	}
	if err := checkFailures(sum, req.Deny); err != nil {
		return nil, err
	}
	return &Result{Total: total, Start: 0, Rows: []Row{}, Shards: sum, Duplicates: []Duplicate{}}, nil
}
