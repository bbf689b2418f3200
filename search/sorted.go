package search

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/shearch/shearch/shards"
)

// streamSorted is Stream in name order without holding the answer: the
// shards' rows go through the sorter (memory bounded by SortBytes, the
// rest in sorted runs on disk), and come out merged, a batch at a time,
// each batch's objects read as it is sent. Memory holds the sorter's
// bound and two batches, whatever the fleet's size.
func (e *Engine) streamSorted(ctx context.Context, req Request, begin func(ShardsSummary), emit func(Row) error) (*Result, error) {
	targets, err := e.Targets(req.Stack, req.Shards)
	if err != nil {
		return nil, err
	}
	isNode := req.Index == "node"
	started := time.Now()
	srt := e.newSorter()
	defer srt.close()
	// The fan-out shares the bounds of a merged answer's.
	fctx, cancel := context.WithTimeout(ctx, e.requestTimeout())
	defer cancel()
	skipped, err := e.checkIndex(fctx, targets, req.Index)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	counts := map[string]int{}
	each := e.shardEach(req, len(targets))
	answers := e.fanOut(fctx, without(targets, skipped), func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
		name := c.Shard.Name
		n := 0
		defer func() {
			mu.Lock()
			counts[name] = n
			mu.Unlock()
		}()
		return nil, each(ctx, c, func(r shards.Row) error {
			n++
			return srt.add(Row{Name: r.Name, Shard: name, Source: SourceChef, URL: r.URL, Data: r.Data, Ohai: r.Ohai})
		})
	})
	for i := range answers {
		answers[i].status.Rows = counts[answers[i].shard.Name]
	}
	answers = inShardOrder(targets, append(answers, skipped...))
	if err := fctx.Err(); err != nil {
		return nil, err
	}
	if err := classify(answers); err != nil {
		if e.Validate == nil || !refusedByAll(err) {
			return nil, err
		}
		// Every shard refused the query: what the sorter holds is
		// nothing, or a failing shard's first pages. Start afresh.
		srt.close()
		srt = e.newSorter()
		defer srt.close()
		if answers, err = e.searchLocally(fctx, targets, req, req.Partial); err != nil {
			return nil, err
		}
		for i := range answers {
			if err := addAnswer(srt, &answers[i]); err != nil {
				return nil, err
			}
		}
	}
	// A shard that failed part-way may have sent some pages: its rows
	// are left out, and the fallback stands in for it.
	failed := map[string]bool{}
	for _, a := range answers {
		if a.err != nil {
			failed[a.shard.Name] = true
		}
	}
	if isNode && e.Fallback != nil {
		e.fallBack(fctx, req, answers)
		for i := range answers {
			if answers[i].fromFallback {
				if err := addAnswer(srt, &answers[i]); err != nil {
					return nil, err
				}
			}
		}
	}
	sum := summarize(answers)
	if err := checkFailures(sum, req.Deny); err != nil {
		return nil, err
	}
	var copies map[string][]nodeCopy
	var answered []shards.Shard
	if isNode && !matchesAll(req.Query) {
		answered = answeredShards(answers)
		bctx, cancel := context.WithDeadline(fctx, started.Add(e.shardTimeout()))
		copies = e.duplicatedNodes(bctx, answered)
		cancel()
	}
	next, err := srt.sorted()
	if err != nil {
		return nil, err
	}
	if begin != nil {
		begin(sum)
	}

	// Rows come out merged, one per name, a batch at a time; start and
	// rows apply to the merged order, and the rest is still counted.
	dups := []Duplicate{}
	total, skip, left := 0, req.Start, req.Rows
	if left <= 0 {
		left = -1
	}
	var cur []Row // the rows of the name being read, in shard order
	nextMerged := func() (Row, bool, error) {
		for {
			r, ok, err := next()
			if err != nil {
				return Row{}, false, err
			}
			if ok && r.Source == SourceChef && failed[r.Shard] {
				continue
			}
			if ok && (len(cur) == 0 || r.Name == cur[0].Name) {
				cur = append(cur, r)
				continue
			}
			if len(cur) == 0 {
				return Row{}, false, nil
			}
			keep, d := pickCopy(req.Index, cur)
			if d != nil {
				dups = append(dups, *d)
			}
			cur = cur[:0]
			if ok {
				cur = append(cur, r)
			}
			return keep, true, nil
		}
	}
	batch := func() ([]Row, bool, error) {
		out := make([]Row, 0, streamBatch)
		more := true
		for len(out) < streamBatch {
			r, ok, err := nextMerged()
			if err != nil {
				return nil, false, err
			}
			if !ok {
				more = false
				break
			}
			out = append(out, r)
		}
		if copies != nil {
			bctx, cancel := context.WithTimeout(ctx, e.shardTimeout())
			out, dups = e.dropStale(bctx, answered, out, dups, copies)
			cancel()
		}
		total += len(out)
		// Rows outside the requested window are counted, never fetched.
		if skip > 0 {
			n := min(skip, len(out))
			out, skip = out[n:], skip-n
		}
		if left >= 0 {
			n := min(left, len(out))
			out, left = out[:n], left-n
		}
		return out, more, nil
	}
	withURL := e.rowURLs(req)
	err = e.emitFrom(ctx, batch, func(r Row) error { withURL(&r); return emit(r) })
	if err != nil {
		return nil, err
	}
	sort.Slice(dups, func(i, j int) bool { return dups[i].Name < dups[j].Name })
	return &Result{Total: total, Start: req.Start, Rows: []Row{}, Shards: sum, Duplicates: dups, DuplicatesTotal: len(dups)}, nil
}

// addAnswer hands an answer's rows held in memory (local evaluation, the
// fallback) to the sorter.
func addAnswer(srt *sorter, a *shardAnswer) error {
	src := SourceChef
	if a.fromFallback {
		src = SourceConsul
	}
	for _, r := range a.rows {
		if err := srt.add(Row{Name: r.Name, Shard: a.shard.Name, Source: src, URL: r.URL, Data: r.Data, Ohai: r.Ohai}); err != nil {
			return err
		}
	}
	a.rows = nil
	return nil
}
