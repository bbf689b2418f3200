package search

import (
	"context"
	"sort"

	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// The merge rule of a read: nodes by newest ohai_time, everything else
// by majority.
func kindOf(p shards.Path) string {
	switch p.Kind() {
	case shards.Nodes:
		return "node"
	case shards.Clients:
		return "client"
	}
	return "shared"
}

// ReadResult is one object read from every shard of a stack.
type ReadResult struct {
	Object map[string]any `json:"object"`
	// Kept is the shard whose copy is returned.
	Kept string `json:"kept"`
	// Holders are every shard holding a copy, in shard order.
	Holders    []string      `json:"holders"`
	Duplicates []Duplicate   `json:"duplicates"`
	Shards     ShardsSummary `json:"shards"`
}

// Get reads one object (shards.ObjectPath(shards.Nodes, NAME), ...) from
// every shard and returns the copy one Chef server would hold. A 404 on
// every shard is a 404.
func (e *Engine) Get(ctx context.Context, stack string, path shards.Path, deny bool) (*ReadResult, error) {
	targets, err := e.Targets(stack, nil)
	if err != nil {
		return nil, err
	}
	answers := e.fanRows(ctx, targets, func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
		raw, err := c.Do(ctx, methodGet, path, nil)
		if err != nil {
			return nil, err
		}
		r := shards.ObjectRow(raw)
		r.Name = path.Name()
		return []shards.Row{r}, nil
	})
	summary, err := settle(ctx, answers, deny)
	if err != nil {
		return nil, err
	}
	var holders []string
	for _, a := range answers {
		if len(a.Value) > 0 {
			holders = append(holders, a.Shard.Name)
		}
	}
	rows, dups := merge(kindOf(path), answers)
	if len(rows) == 0 {
		// Some shards failed and none of the rest has it: it may well be
		// on a failed shard, so "not found" would be a lie.
		return nil, fault.Errorf(fault.ShardsFailed, "%s is not on the shards that answered, and shard(s) failed: %s", path, fanout.FailedMessage(summary.Details))
	}
	return &ReadResult{Object: rows[0].Object(), Kept: rows[0].Shard, Holders: holders, Duplicates: dups, Shards: summary}, nil
}

// ListResult is a collection (nodes, roles, data/BAG, ...) merged over
// shards: each name once, with the shards that hold it.
type ListResult struct {
	Names  map[string][]string
	Shards ShardsSummary
}

// List reads a collection from every shard. Chef answers a collection as
// {"name": "url"}; the URLs point at the shard, so only names are kept.
func (e *Engine) List(ctx context.Context, stack string, path shards.Path, deny bool) (*ListResult, error) {
	targets, err := e.Targets(stack, nil)
	if err != nil {
		return nil, err
	}
	answers := e.fanRows(ctx, targets, func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
		names, err := c.Names(ctx, path)
		if err != nil {
			return nil, err
		}
		rows := make([]shards.Row, len(names))
		for i, name := range names {
			rows[i] = shards.Row{Name: name}
		}
		return rows, nil
	})
	summary, err := settle(ctx, answers, deny)
	if err != nil {
		return nil, err
	}
	res := &ListResult{Names: map[string][]string{}, Shards: summary}
	for _, a := range answers {
		for _, r := range a.Value {
			res.Names[r.Name] = append(res.Names[r.Name], a.Shard.Name)
		}
	}
	for _, v := range res.Names {
		sort.Strings(v)
	}
	return res, nil
}

// fanRows is a fan-out whose answers are rows, each shard's counted in
// its summary line.
func (e *Engine) fanRows(ctx context.Context, targets []shards.Shard, call func(context.Context, *shards.Client) ([]shards.Row, error)) []fanout.Answer[[]shards.Row] {
	answers := fanout.Do(ctx, targets, call, e.FanOptions())
	fanout.Count(answers, func(rows []shards.Row) int { return len(rows) })
	return answers
}

// settle turns a read fan-out's answers into their summary, or the error
// that ends the request: the caller left, every shard refused alike, or a
// shard failed under partial=deny (or all of them did).
func settle[T any](ctx context.Context, answers []fanout.Answer[T], deny bool) (ShardsSummary, error) {
	if err := ctx.Err(); err != nil {
		return ShardsSummary{}, err
	}
	if err := fanout.Classify(answers); err != nil {
		return ShardsSummary{}, err
	}
	summary := fanout.Summarize(answers)
	return summary, fanout.CheckFailures(summary, deny)
}
