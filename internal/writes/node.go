package writes

import (
	"context"
	"fmt"
	"strings"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// NodeWrite changes one node on the one shard that holds it; a new node
// (POST) goes to the shard the weights pick. onlyShard, when set, names
// the copy to change of a node held by several shards (the way out of the
// 409 those nodes get).
func (wr *Writer) NodeWrite(ctx context.Context, stack, method, name, onlyShard string, body map[string]any) (*Result, error) {
	ref := ObjectRef{Kind: KindNode, Name: name}
	if err := ref.Check(); err != nil {
		return nil, err
	}
	stack = wr.shards.Stack(stack)
	targets, err := wr.WriteTargets(stack)
	if err != nil {
		return nil, err
	}
	if method == methodPost {
		return wr.createNode(ctx, stack, targets, ref, body)
	}
	p, err := ref.objectPath(method)
	if err != nil {
		return nil, fault.Errorf(fault.NotAllowed, "%v", err)
	}
	holders, failed, cached := wr.locateNode(ctx, stack, targets, name, onlyShard == "")
	target, err := pickHolder(ref, holders, failed, onlyShard)
	if err != nil {
		return nil, err
	}
	w := wr.writeOne(ctx, target, method, p, body)
	if w.out.Code == chefNotFound && cached {
		// Remembered, but gone from there: it moved. Ask every shard.
		wr.owned.forget(stack, name)
		holders, failed, _ = wr.locateNode(ctx, stack, targets, name, false)
		if target, err = pickHolder(ref, holders, failed, onlyShard); err != nil {
			return nil, err
		}
		w = wr.writeOne(ctx, target, method, p, body)
	}
	if method == methodDelete || w.out.Code == chefNotFound {
		wr.owned.forget(stack, name)
	}
	wr.changed(false)
	return nodeResult(w), nil
}

// pickHolder is the one shard a node write may go to, or why none is.
func pickHolder(ref ObjectRef, holders []shards.Shard, failed []api.ShardStatus, only string) (shards.Shard, error) {
	if only != "" {
		for _, h := range holders {
			if h.Name == only {
				return h, nil
			}
		}
		return shards.Shard{}, fault.Errorf(fault.NotFound, "node %s is not on shard %s", ref.Name, only)
	}
	switch {
	case len(holders) > 1:
		names := make([]string, len(holders))
		for i, h := range holders {
			names[i] = h.Name
		}
		return shards.Shard{}, fault.Errorf(fault.Conflict,
			"node %s is on %d shards: %s; remove the stale copy first (DELETE /nodes/%s?shard=NAME) or write to one copy with ?shard=NAME",
			ref.Name, len(holders), strings.Join(names, " and "), ref.Name)
	case len(holders) == 1:
		return holders[0], nil
	case len(failed) > 0:
		return shards.Shard{}, fault.Errorf(fault.ShardsFailed, "node %s is on none of the shards that answered, and shard(s) failed: %s", ref.Name, fanout.FailedMessage(failed))
	}
	return shards.Shard{}, fault.Errorf(fault.NotFound, "Cannot load node %s", ref.Name)
}

// createNode places a new node: refused when it already exists anywhere
// or when a shard that might hold it cannot be asked (a second copy is
// worse than a failed create); otherwise on the weighted pick.
func (wr *Writer) createNode(ctx context.Context, stack string, targets []shards.Shard, ref ObjectRef, body map[string]any) (*Result, error) {
	holders, failed, _ := wr.locateNode(ctx, stack, targets, ref.Name, false)
	if len(holders) > 0 {
		names := make([]string, len(holders))
		for i, h := range holders {
			names[i] = h.Name
		}
		return nil, fault.Errorf(fault.Conflict, "Node already exists (on %s)", strings.Join(names, " and "))
	}
	if len(failed) > 0 {
		return nil, fault.Errorf(fault.ShardsFailed, "cannot create node %s: shard(s) failed, and it may already be there: %s; retry once they are back", ref.Name, fanout.FailedMessage(failed))
	}
	pick, err := PickShard(ref.Name, targets)
	if err != nil {
		return nil, err
	}
	p, err := ref.createPath()
	if err != nil {
		return nil, err
	}
	w := wr.writeOne(ctx, pick, methodPost, p, body)
	if w.out.Status == api.WriteOK {
		wr.owned.remember(stack, ref.Name, pick.Name)
	}
	wr.changed(false)
	return nodeResult(w), nil
}

func nodeResult(w shardWrite) *Result {
	wr := &Result{Object: w.body, Shard: w.shard.Name, Outcomes: []Outcome{w.out}}
	switch w.out.Status {
	case api.WriteOK:
	case api.WriteRefused:
		wr.Verdict, wr.ShardCode = AllRefused, w.out.Code
		wr.Message = w.out.Error
	default:
		wr.Verdict = WroteNone
		wr.Message = fmt.Sprintf("shard %s failed: %s", w.shard.Name, w.out.Error)
	}
	return wr
}
