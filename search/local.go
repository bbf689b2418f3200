package search

import (
	"context"

	"github.com/shearch/shearch/internal/extsort"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/query"
	"github.com/shearch/shearch/shards"
)

// Shards that are not Chef Infra Servers (goiardi speaks the older Chef 10
// grammar) refuse some queries Chef Server accepts, such as `word~0.5` or
// a `/` in a term. Shearch promises Chef Server's grammar, so when every
// shard refuses a query its own parser accepted, it evaluates the query
// itself over each shard's objects, with Chef's flattening and matching.

// searchLocally reads each shard's objects of the index page by page and
// hands those the query matches to srt, shaped as the shard would have
// answered: the same sorter, and so the same memory and spill bounds, as
// rows the shards found. A whole node keeps its name and ohai_time only,
// as a large shard's rows do in the first fan-out: the page's objects are
// read again when it is served, so a fleet's matches are never held.
func (e *Engine) searchLocally(ctx context.Context, targets []shards.Shard, req *plan, partial map[string][]string, srt *extsort.Sorter) ([]fanout.Answer[int], error) {
	q := req.parsed
	wholeNodes := partial == nil && req.Index == "node"
	answers := fanout.Do(ctx, targets, func(ctx context.Context, c *shards.Client) (int, error) {
		name := c.Shard.Name
		n := 0
		batch := make([]Row, 0, addBatch)
		err := c.SearchEach(ctx, req.Index, "*:*", nil, func(r shards.Row) error {
			obj := Row{Data: r.Data}.Object()
			item := indexed(req.Index, obj)
			if !q.Match(query.Flatten(req.Index, item)) {
				return nil
			}
			switch {
			case partial != nil:
				pr, err := shards.NewRow(r.Name, partialData(req.Index, obj, item, partial))
				if err != nil {
					return err
				}
				pr.Ohai = r.Ohai
				r = pr
			case wholeNodes:
				r = shards.Row{Name: r.Name, Ohai: r.Ohai}
			}
			n++
			batch = append(batch, rowFrom(r, name, SourceChef))
			if len(batch) < addBatch {
				return nil
			}
			err := srt.Add(batch...)
			batch = batch[:0]
			return err
		})
		if err == nil {
			err = srt.Add(batch...)
		}
		return n, err
	}, req.fanOpts(e))
	if err := srt.Err(); err != nil {
		return nil, err
	}
	fanout.Count(answers, func(n int) int { return n })
	return answers, fanout.Classify(answers)
}

// indexed is the object as Chef indexes it: a data bag search row wraps
// the item in raw_data.
func indexed(index string, obj map[string]any) map[string]any {
	switch index {
	case "node", "role", "client", "environment":
		return obj
	}
	if raw, ok := obj["raw_data"].(map[string]any); ok {
		return raw
	}
	return obj
}

// partialData answers a partial-search body from a whole object: node
// paths are looked up in the merged attributes with the node's own
// top-level keys over them, other objects as they are.
func partialData(index string, obj, item map[string]any, body map[string][]string) map[string]any {
	base := item
	if index == "node" {
		base = query.MergedAttributes(obj)
		for _, k := range []string{"name", "chef_environment", "run_list"} {
			if v, ok := obj[k]; ok {
				base[k] = v
			}
		}
	}
	out := make(map[string]any, len(body))
	for key, path := range body {
		var v any = base
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[p]
		}
		out[key] = v
	}
	return out
}

// refusedByAll reports a 400 that every shard gave.
func refusedByAll(err error) bool {
	return fault.Is(err, fault.BadRequest)
}
