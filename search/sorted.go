package search

import (
	"context"
	"sort"

	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// addBatch is how many rows a shard hands the sorter at once.
const addBatch = 256

// gathered is a fan-out's answer on its way out of the merge: the
// shards' summary, then the merged rows (one per name, in name order),
// a row or a batch at a time.
type gathered struct {
	e    *Engine
	req  *plan
	held *held
	sum  ShardsSummary
	// failed shards' own rows are left out: the fallback stands in.
	failed map[string]bool
	next   func() (*Row, bool, error)
	// ahead is the row read past the last name; cur the rows of a name
	// held more than once, in shard order; kept the copy pickCopy kept.
	ahead *Row
	cur   []Row
	kept  Row
	// copies and answered feed dropStale for queries other than *:*.
	copies   map[string][]nodeCopy
	answered []shards.Shard
	dups     []Duplicate
	done     bool
	// listed answers came from the shards' node lists, without
	// ohai_time: a node several shards hold has it read (targets).
	listed  bool
	targets []shards.Shard
}

// gather runs the fan-out of req: memory holds at most SortBytes of
// rows, sorted per shard and merged (held.go); past it they go to the
// sorter, and on to sorted runs on disk. The caller closes the answer.
func (e *Engine) gather(ctx context.Context, req *plan) (*gathered, error) {
	if err := req.resolve(e); err != nil {
		return nil, err
	}
	targets := req.targets
	isNode := req.Index == "node"
	listed := req.names != nil
	g := &gathered{e: e, req: req, held: e.newHeld(), failed: map[string]bool{}, dups: []Duplicate{}, listed: listed, targets: targets}
	ok := false
	defer func() {
		if !ok {
			g.close()
		}
	}()
	// Shards that failed the index check are not asked again: a hanging
	// shard costs the per-shard timeout once.
	skipped, err := e.checkIndex(ctx, targets, req.Index, req.fanOpts(e))
	if err != nil {
		return nil, err
	}
	each := e.shardEach(req, len(targets))
	answers := fanout.Do(ctx, fanout.Without(targets, skipped), func(ctx context.Context, c *shards.Client) (int, error) {
		name := c.Shard.Name
		p := g.held.part()
		err := each(ctx, c, func(r shards.Row) error {
			return p.add(rowFrom(r, name, SourceChef))
		})
		if err != nil {
			p.drop()
			return p.n, err
		}
		return p.n, p.done()
	}, req.fanOpts(e))
	// The sorter's own failure (search.spill_dir, search.spill_max_bytes)
	// is the answer, once: it is no shard's fault.
	if err := g.held.err(); err != nil {
		return nil, err
	}
	fanout.Count(answers, func(n int) int { return n })
	answers = fanout.InShardOrder(targets, append(answers, skipped...))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A shard whose reads failed part-way may have sent some pages, and
	// its rows are left out: dropped if held in memory, skipped if they
	// reached the sorter. Classify may yet call the shard ok (a data bag
	// it lost between pages: no rows), so this is noted first, and the
	// answer is the same in memory or spilled.
	for _, a := range answers {
		if a.Err != nil {
			g.failed[a.Shard.Name] = true
		}
	}
	if err := fanout.Classify(answers); err != nil {
		if !e.CheckQueries || !refusedByAll(err) {
			return nil, err
		}
		// Every shard refused the query: what the sorter holds is
		// nothing, or a failing shard's first pages. Start afresh.
		g.held.reset()
		srt, err := g.held.sorter()
		if err != nil {
			return nil, err
		}
		if answers, err = e.searchLocally(ctx, targets, req, req.Partial, srt); err != nil {
			return nil, err
		}
		g.held.n.Add(int64(srt.Count()))
		clear(g.failed)
	}
	// A failed shard's rows are left out, and the fallback stands in
	// for it.
	for _, a := range answers {
		if a.Err != nil {
			g.failed[a.Shard.Name] = true
		}
	}
	if isNode && e.Fallback != nil {
		if rows := fallBack(ctx, e, req, answers); len(rows) > 0 {
			p := g.held.part()
			for _, r := range rows {
				if err := p.add(r); err != nil {
					p.drop()
					return nil, err
				}
			}
			if err := p.done(); err != nil {
				return nil, err
			}
		}
	}
	g.sum = fanout.Summarize(answers)
	if err := fanout.CheckFailures(g.sum, req.PartialDeny); err != nil {
		return nil, err
	}
	// *:* meets every copy of every node, so the merge sees them all;
	// other queries look up the nodes several shards hold (cached for
	// ownersTTL, so a warm engine pays no extra round trip). Only the
	// shards that answered, within what is left of one shard timeout:
	// the per-shard timeout bounds the whole answer, and this pass is
	// best effort.
	if isNode && !req.matchAll {
		g.answered = fanout.Answered(answers)
		if g.copies, err = e.duplicatedNodes(ctx, g.answered); err != nil {
			return nil, err
		}
	}
	if g.next, err = g.held.sorted(g.skip); err != nil {
		return nil, err
	}
	ok = true
	return g, nil
}

// skip says whether r is a failed shard's own row: the fallback stands
// in for it.
func (g *gathered) skip(r *Row) bool {
	return len(g.failed) > 0 && r.Source == SourceChef && g.failed[r.Shard]
}

// nextRow returns the next merged row: the copy pickCopy keeps of a name.
// The row is valid until the next call, and is not to be written: it
// may be a held row itself. A name held once is not copied at all.
func (g *gathered) nextRow(ctx context.Context) (*Row, bool, error) {
	first := g.ahead
	g.ahead = nil
	if first == nil {
		r, ok, err := g.next()
		if !ok {
			return nil, false, err
		}
		first = r
	}
	r, ok, err := g.next()
	if err != nil {
		return nil, false, err
	}
	if !ok || r.Name != first.Name {
		g.ahead = r
		return first, true, nil
	}
	g.cur = append(g.cur[:0], *first, *r)
	for {
		if r, ok, err = g.next(); err != nil {
			return nil, false, err
		}
		if !ok || r.Name != g.cur[0].Name {
			g.ahead = r
			break
		}
		g.cur = append(g.cur, *r)
	}
	if g.listed {
		if err := g.readOhai(ctx, g.cur); err != nil {
			return nil, false, err
		}
	}
	keep, d := pickCopy(g.req.Index, g.cur)
	if d != nil {
		g.dups = append(g.dups, *d)
	}
	g.kept = keep
	return &g.kept, true, nil
}

// each hands fn every merged row, in order; fn must not keep the row.
// Without stale copies to look for, rows go to fn as the merge gives
// them, never copied into batches.
func (g *gathered) each(ctx context.Context, fn func(*Row) error) error {
	if len(g.copies) > 0 {
		var rows []Row
		for more := true; more; {
			var err error
			if rows, more, err = g.batchInto(ctx, rows, streamBatch); err != nil {
				return err
			}
			for i := range rows {
				if err := fn(&rows[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for !g.done {
		r, ok, err := g.nextRow(ctx)
		if err != nil {
			return err
		}
		if !ok {
			g.done = true
			break
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// batch returns up to n merged rows; more says whether rows are left.
// Stale hits of nodes whose newest copy is elsewhere are dropped and
// reported.
func (g *gathered) batch(ctx context.Context, n int) ([]Row, bool, error) {
	return g.batchInto(ctx, nil, n)
}

// batchInto is batch reading into out's array: for a caller done with
// the previous batch's slice, one slice serves every batch.
func (g *gathered) batchInto(ctx context.Context, out []Row, n int) ([]Row, bool, error) {
	if g.done {
		return nil, false, nil
	}
	if cap(out) < n {
		out = make([]Row, 0, n)
	}
	out = out[:0]
	for len(out) < n {
		r, ok, err := g.nextRow(ctx)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			g.done = true
			break
		}
		out = append(out, *r)
	}
	if g.copies != nil {
		var err error
		if out, g.dups, err = g.e.dropStale(shards.WithShardTimeout(ctx, g.e.Timeout), g.answered, out, g.dups, g.copies); err != nil {
			return nil, false, err
		}
	}
	return out, !g.done, nil
}

// readOhai reads the ohai_time of each copy of a node that came from the
// shards' lists, so the newest copy wins as it does in a search. A copy
// that cannot be read keeps none, and loses to one that can. A read that
// Shearch shed is the request's error: the copy kept could be the wrong one.
func (g *gathered) readOhai(ctx context.Context, group []Row) error {
	for i := range group {
		for _, t := range g.targets {
			if t.Name != group[i].Shard || group[i].Source != SourceChef {
				continue
			}
			c, err := g.req.clientOf(g.e)(t)
			if err != nil {
				break
			}
			p, err := shards.ObjectPath(shards.Nodes, group[i].Name)
			if err != nil {
				break
			}
			raw, err := c.Do(shards.WithShardTimeout(ctx, g.e.Timeout), methodGet, p, nil)
			if err == nil {
				group[i].Ohai = shards.ObjectRow(raw).Ohai
			} else if ferr := fanout.RequestFailure(ctx, err); ferr != nil {
				return ferr
			}
			break
		}
	}
	return nil
}

// duplicates lists the duplicates met, by name.
func (g *gathered) duplicates() []Duplicate {
	sort.Slice(g.dups, func(i, j int) bool { return g.dups[i].Name < g.dups[j].Name })
	return g.dups
}

func (g *gathered) close() { g.held.close() }

// streamSorted is Stream in name order without holding the answer: rows
// come out of the sorter merged, a batch at a time, each batch's objects
// read as it is sent. Memory holds the sorter's bound and two batches,
// whatever the fleet's size.
func (e *Engine) streamSorted(ctx context.Context, req *plan, begin func(ShardsSummary), emit func(Row) error) (*Result, error) {
	// The fan-out has the bounds of a merged answer's.
	fctx, cancel := context.WithTimeout(ctx, e.RequestTimeout())
	defer cancel()
	g, err := e.gather(fctx, req)
	if err != nil {
		return nil, err
	}
	defer g.close()
	if begin != nil {
		begin(g.sum)
	}
	// start and rows apply to the merged order; rows outside the window
	// are counted, never fetched.
	total, skip, left := 0, req.Start, req.Rows
	if left <= 0 {
		left = -1
	}
	withURL := e.rowURLs(req)
	err = e.emitFrom(ctx, req, func(ctx context.Context) ([]Row, bool, error) {
		out, more, err := g.batch(ctx, streamBatch)
		if err != nil {
			return nil, false, err
		}
		total += len(out)
		if skip > 0 {
			n := min(skip, len(out))
			out, skip = out[n:], skip-n
		}
		if left >= 0 {
			n := min(left, len(out))
			out, left = out[:n], left-n
		}
		return out, more, nil
	}, func(r Row) error { withURL(&r); return emit(r) })
	if err != nil {
		return nil, err
	}
	dups := g.duplicates()
	return &Result{Total: total, Start: req.Start, Rows: []Row{}, Shards: g.sum, Duplicates: dups, DuplicatesTotal: len(dups)}, nil
}
