package search

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// Outcome statuses of one shard's part in a write.
const (
	WriteOK      = api.WriteOK
	WriteCreated = api.WriteCreated
	WriteAbsent  = api.WriteAbsent
	WriteExists  = api.WriteExists
	WriteRefused = api.WriteRefused
	WriteFailed  = api.WriteFailed
	WriteSkipped = api.WriteSkipped
)

// WriteOutcome is one shard's part in a write: a client wire type.
type WriteOutcome = api.WriteOutcome

// WriteVerdict is what a write came to over the shards it went to; the
// HTTP layer picks the status that tells a Chef client so.
type WriteVerdict int

const (
	// WroteAll: every shard holds what the write asked for.
	WroteAll WriteVerdict = iota
	// WroteSome: some shards did it and some did not.
	WroteSome
	// WroteNone: no shard did it, and they did not all refuse alike.
	WroteNone
	// Refused: every shard that could be asked refused it the same way;
	// ShardCode is the answer code they sent, for the client to react
	// to as it would to one Chef server.
	Refused
)

// WriteResult is a write's answer: what it came to, the Chef answer of a
// shard that did it, and every shard's outcome.
type WriteResult struct {
	Verdict WriteVerdict
	// ShardCode, for Refused, is the shards' answer code.
	ShardCode int
	// Object is the Chef answer of the first shard (by name) that did it.
	Object map[string]any
	// Shard is the shard a node write went to.
	Shard    string
	Outcomes []WriteOutcome
	// Message explains a verdict other than WroteAll.
	Message string
}

// Shards lists the shards the write went to.
func (r *WriteResult) Shards() []string {
	out := make([]string, len(r.Outcomes))
	for i, o := range r.Outcomes {
		out[i] = o.Name
	}
	return out
}

type shardWrite struct {
	shard shards.Shard
	out   WriteOutcome
	body  map[string]any
	// refusal is the shard's refusal, for its text when it sent none.
	refusal *shards.StatusError
}

// writeOne sends one write to one shard.
func (e *Engine) writeOne(ctx context.Context, s shards.Shard, method string, path shards.Path, body any) shardWrite {
	w := shardWrite{shard: s, out: WriteOutcome{Name: s.Name}}
	c, err := e.Client(s)
	var data []byte
	var code int
	if err == nil {
		code, data, err = c.Write(ctx, method, path, body)
	}
	if e.OnShardResult != nil && !fanout.IsClientError(err) {
		e.OnShardResult(s.Name, err)
	}
	var se *shards.StatusError
	switch {
	case err == nil:
		w.out.Status, w.out.Code = WriteOK, code
		var obj map[string]any
		if len(data) > 0 && shards.DecodeJSON(data, &obj) == nil {
			w.body = obj
		}
	case errors.As(err, &se):
		w.out.Code, w.out.Error = se.Status, strings.Join(se.Messages, "; ")
		w.out.Status, w.refusal = WriteRefused, se
		if se.Status >= 500 {
			w.out.Status = WriteFailed
		}
	default:
		w.out.Status, w.out.Error = WriteFailed, fanout.Detail(err, s.Name)
	}
	return w
}

// writeAll sends the same write to every target side by side; one shard
// failing never stops the others.
func (e *Engine) writeAll(ctx context.Context, targets []shards.Shard, method string, path shards.Path, body any) []shardWrite {
	res := make([]shardWrite, len(targets))
	var g errgroup.Group
	g.SetLimit(e.Concurrency)
	for i, s := range targets {
		g.Go(func() error {
			res[i] = e.writeOne(ctx, s, method, path, body)
			return nil
		})
	}
	g.Wait()
	return res
}

// StackWrite changes a role, environment, data bag or data bag item on
// every shard of the stack, because every shard has to agree on them.
// method is POST (create: ref names the object being created), PUT or
// DELETE. A PUT that finds the object missing on some shards while others
// hold it creates it there, so the shards converge; a DELETE that finds
// it already gone there counts as done.
func (e *Engine) StackWrite(ctx context.Context, stack, method string, ref ObjectRef, body map[string]any) (*WriteResult, error) {
	if ref.Kind == KindNode {
		return nil, fault.Errorf(fault.Internal, "node writes go through NodeWrite")
	}
	if err := ref.Check(); err != nil {
		return nil, err
	}
	targets, err := e.writeTargets(stack)
	if err != nil {
		return nil, err
	}
	var p shards.Path
	if method == methodPost {
		p, err = ref.createPath()
	} else {
		p, err = ref.objectPath(method)
	}
	if err != nil {
		return nil, fault.Errorf(fault.NotAllowed, "%v", err)
	}
	res := e.writeAll(ctx, targets, method, p, body)
	if method == methodPut {
		e.createWhereMissing(ctx, ref, body, res)
	}
	e.Cache.purge()
	e.scans.clear()
	return aggregate(method, ref, res), nil
}

// purge empties the search cache: an answer cached before a write must
// not be served after it. (Other Shearch replicas keep theirs until their
// cache_ttl passes.)
func (c *Cache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items, c.lru = nil, nil
}

// writeTargets are the shards of the one stack a write is for: a change
// meant for prod must not reach dev because no stack was named.
func (e *Engine) writeTargets(stack string) ([]shards.Shard, error) {
	targets, err := e.Targets(stack, nil)
	if err != nil {
		return nil, err
	}
	stacks := map[string]bool{}
	for _, t := range targets {
		stacks[t.Stack] = true
	}
	if len(stacks) > 1 {
		names := make([]string, 0, len(stacks))
		for s := range stacks {
			names = append(names, s)
		}
		sort.Strings(names)
		return nil, fault.Errorf(fault.BadRequest, "a write goes to one stack, and %q spans %s: give ?stack=NAME (gnife: --stack NAME)", e.Stack(stack), strings.Join(names, ", "))
	}
	return targets, nil
}

// createWhereMissing turns the 404s of a PUT into creates, when at least
// one shard held the object: those shards had missed an earlier upload.
func (e *Engine) createWhereMissing(ctx context.Context, ref ObjectRef, body map[string]any, res []shardWrite) {
	any2xx := false
	var missing []int
	for i, r := range res {
		if r.out.Status == WriteOK {
			any2xx = true
		}
		if r.out.Code == chefNotFound {
			missing = append(missing, i)
		}
	}
	if !any2xx || len(missing) == 0 {
		return
	}
	var g errgroup.Group
	g.SetLimit(e.Concurrency)
	for _, i := range missing {
		g.Go(func() error {
			w := e.createOn(ctx, res[i].shard, ref, body)
			if w.out.Status == WriteOK {
				w.out.Status = WriteCreated
			}
			res[i] = w
			return nil
		})
	}
	g.Wait()
}

// createOn creates an object on one shard, the data bag first when an
// item's bag is missing there too.
func (e *Engine) createOn(ctx context.Context, s shards.Shard, ref ObjectRef, body any) shardWrite {
	p, err := ref.createPath()
	if err != nil {
		return shardWrite{shard: s, out: WriteOutcome{Name: s.Name, Status: WriteFailed, Error: err.Error()}}
	}
	w := e.writeOne(ctx, s, methodPost, p, body)
	if ref.Kind == KindDataBagItem && w.out.Code == chefNotFound {
		bags, _ := shards.WritePath(methodPost, shards.DataBags)
		bag := e.writeOne(ctx, s, methodPost, bags, map[string]any{"name": ref.Name})
		if bag.out.Status != WriteOK && bag.out.Code != chefConflict {
			return bag
		}
		w = e.writeOne(ctx, s, methodPost, p, body)
	}
	return w
}

// aggregate turns per-shard outcomes into one verdict: every shard done,
// some, or none; or every shard refusing alike (a 404, a 409 for a
// create, a 400 for bad data), so a Chef client reacts as it would to one
// server.
func aggregate(method string, ref ObjectRef, res []shardWrite) *WriteResult {
	wr := &WriteResult{Outcomes: make([]WriteOutcome, len(res))}
	codes := map[int]int{}
	done := 0
	for i := range res {
		r := &res[i]
		if r.out.Status == WriteRefused {
			codes[r.out.Code]++
		}
		if r.out.Status == WriteOK || r.out.Status == WriteCreated {
			done++
		}
	}
	n := len(res)
	// Outcomes that mean "already as wanted", once some shard did it.
	for i := range res {
		r := &res[i]
		switch {
		case method == methodDelete && r.out.Code == chefNotFound && done > 0:
			r.out.Status = WriteAbsent
		case method == methodPost && r.out.Code == chefConflict:
			r.out.Status = WriteExists
			if ref.Kind == KindDataBag && done > 0 {
				// A bag has no content: there, it is as wanted.
				r.out.Status = WriteOK
			}
		}
	}
	for i, r := range res {
		wr.Outcomes[i] = r.out
	}
	for code, c := range codes {
		if c == n {
			wr.Verdict, wr.ShardCode = Refused, code
			wr.Message = firstError(res)
			return wr
		}
	}
	if method == methodPut && done == 0 && codes[chefNotFound] > 0 && codes[chefNotFound]+failedCount(res) == n {
		// Missing wherever it could be asked: a Chef client then creates
		// it (POST), which reaches the shards that answer and names the
		// others. Nothing was changed.
		wr.Verdict, wr.ShardCode = Refused, chefNotFound
		for _, r := range res {
			if r.out.Code == chefNotFound {
				wr.Message = r.out.Error
				break
			}
		}
		return wr
	}
	ok := 0
	for _, r := range res {
		if r.out.Done() {
			ok++
			if wr.Object == nil && r.body != nil {
				wr.Object = r.body
			}
		}
	}
	switch {
	case ok == n:
		wr.Verdict = WroteAll
	case ok > 0:
		wr.Verdict = WroteSome
		wr.Message = fmt.Sprintf("%s changed on %d of %d shards; not on: %s", ref, ok, n, notDone(res))
	default:
		wr.Verdict = WroteNone
		wr.Message = fmt.Sprintf("%s changed on no shard: %s", ref, notDone(res))
	}
	return wr
}

func failedCount(res []shardWrite) int {
	n := 0
	for _, r := range res {
		if r.out.Status == WriteFailed {
			n++
		}
	}
	return n
}

func firstError(res []shardWrite) string {
	for _, r := range res {
		if r.out.Error != "" {
			return r.out.Error
		}
	}
	return res[0].refusal.Reason()
}

func notDone(res []shardWrite) string {
	var parts []string
	for _, r := range res {
		if !r.out.Done() {
			why := r.out.Error
			if why == "" {
				why = r.out.Status
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", r.out.Name, why))
		}
	}
	return strings.Join(parts, ", ")
}

// NodeWrite changes one node on the one shard that holds it; a new node
// (POST) goes to the shard the weights pick. onlyShard, when set, names
// the copy to change of a node held by several shards (the way out of the
// 409 those nodes get).
func (e *Engine) NodeWrite(ctx context.Context, stack, method, name, onlyShard string, body map[string]any) (*WriteResult, error) {
	ref := ObjectRef{Kind: KindNode, Name: name}
	if err := ref.Check(); err != nil {
		return nil, err
	}
	stack = e.Stack(stack)
	targets, err := e.writeTargets(stack)
	if err != nil {
		return nil, err
	}
	if method == methodPost {
		return e.createNode(ctx, stack, targets, ref, body)
	}
	p, err := ref.objectPath(method)
	if err != nil {
		return nil, fault.Errorf(fault.NotAllowed, "%v", err)
	}
	holders, failed, cached := e.locateNode(ctx, stack, targets, name, onlyShard == "")
	target, err := pickHolder(ref, holders, failed, onlyShard)
	if err != nil {
		return nil, err
	}
	w := e.writeOne(ctx, target, method, p, body)
	if w.out.Code == chefNotFound && cached {
		// Remembered, but gone from there: it moved. Ask every shard.
		e.owned.forget(stack, name)
		holders, failed, _ = e.locateNode(ctx, stack, targets, name, false)
		if target, err = pickHolder(ref, holders, failed, onlyShard); err != nil {
			return nil, err
		}
		w = e.writeOne(ctx, target, method, p, body)
	}
	if method == methodDelete || w.out.Code == chefNotFound {
		e.owned.forget(stack, name)
	}
	e.Cache.purge()
	return nodeResult(w), nil
}

// pickHolder is the one shard a node write may go to, or why none is.
func pickHolder(ref ObjectRef, holders []shards.Shard, failed []ShardStatus, only string) (shards.Shard, error) {
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
		return shards.Shard{}, fault.Errorf(fault.ShardsFailed, "node %s is on none of the shards that answered, and shard(s) failed: %s", ref.Name, failedShardsMessage(failed))
	}
	return shards.Shard{}, fault.Errorf(fault.NotFound, "Cannot load node %s", ref.Name)
}

// createNode places a new node: refused when it already exists anywhere
// or when a shard that might hold it cannot be asked (a second copy is
// worse than a failed create); otherwise on the weighted pick.
func (e *Engine) createNode(ctx context.Context, stack string, targets []shards.Shard, ref ObjectRef, body map[string]any) (*WriteResult, error) {
	holders, failed, _ := e.locateNode(ctx, stack, targets, ref.Name, false)
	if len(holders) > 0 {
		names := make([]string, len(holders))
		for i, h := range holders {
			names[i] = h.Name
		}
		return nil, fault.Errorf(fault.Conflict, "Node already exists (on %s)", strings.Join(names, " and "))
	}
	if len(failed) > 0 {
		return nil, fault.Errorf(fault.ShardsFailed, "cannot create node %s: shard(s) failed, and it may already be there: %s; retry once they are back", ref.Name, failedShardsMessage(failed))
	}
	pick, err := PickShard(ref.Name, targets)
	if err != nil {
		return nil, err
	}
	p, err := ref.createPath()
	if err != nil {
		return nil, err
	}
	w := e.writeOne(ctx, pick, methodPost, p, body)
	if w.out.Status == WriteOK {
		e.owned.remember(stack, ref.Name, pick.Name)
	}
	e.Cache.purge()
	return nodeResult(w), nil
}

func nodeResult(w shardWrite) *WriteResult {
	wr := &WriteResult{Object: w.body, Shard: w.shard.Name, Outcomes: []WriteOutcome{w.out}}
	switch w.out.Status {
	case WriteOK:
	case WriteRefused:
		wr.Verdict, wr.ShardCode = Refused, w.out.Code
		wr.Message = w.out.Error
	default:
		wr.Verdict = WroteNone
		wr.Message = fmt.Sprintf("shard %s failed: %s", w.shard.Name, w.out.Error)
	}
	return wr
}
