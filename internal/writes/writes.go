// Package writes routes Chef writes to the shards that own them: a node
// to the one shard holding it (remembered for a while) or, when new, to
// the shard the Route53 weights pick; a role, environment or data bag to
// every shard of one stack, converging shards that missed an upload. It
// returns a verdict and every shard's outcome, never an HTTP status: it
// must never import net/http, server or search.
package writes

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

// Shards is how a write finds a stack's shards and their signed
// clients: the read engine's own (search.Engine), so a write and a search
// agree on what a stack holds and share each shard's bound.
type Shards interface {
	Stack(stack string) string
	Targets(stack string, names []string) ([]shards.Shard, error)
	Client(s shards.Shard) (*shards.Client, error)
	FanOptions() fanout.Options
}

// Writer sends writes to the shards. Make it with New.
type Writer struct {
	Config
	shards Shards
	owned  *nodeOwners
	// changed runs after each write, so that what was cached before it
	// is not served after it: search answers after any write, and drift
	// reports too when shared is set (a role, an environment, a data bag,
	// a repair). A node write leaves drift reports alone: they compare no
	// nodes, and chef-client writes its node at the end of every run.
	changed func(shared bool)
}

// New makes a writer over the shards of s; changed, when not nil, runs
// after every write.
func New(cfg Config, s Shards, changed func(shared bool)) *Writer {
	if changed == nil {
		changed = func(bool) {}
	}
	wr := &Writer{Config: cfg.withDefaults(), shards: s, changed: changed}
	wr.owned = newNodeOwners(&wr.Config)
	return wr
}

// The answer codes of a Chef server the writes act on: data a shard
// sent, never a status Shearch answers with (only server/ picks those).
const (
	chefNotFound = 404
	chefConflict = 409
)

// Outcome is one shard's part in a write: a client wire type, whose
// Status is one of api's Write* statuses (api.WriteOK, ...).
type Outcome = api.WriteOutcome

// Verdict is what a write came to over the shards it went to; the
// HTTP layer picks the status that tells a Chef client so.
type Verdict int

const (
	// WroteAll: every shard holds what the write asked for.
	WroteAll Verdict = iota
	// WroteSome: some shards did it and some did not.
	WroteSome
	// WroteNone: no shard did it, and they did not all refuse alike.
	WroteNone
	// AllRefused: every shard that could be asked refused it the same way;
	// ShardCode is the answer code they sent, for the client to react
	// to as it would to one Chef server.
	AllRefused
)

// Result is a write's answer: what it came to, the Chef answer of a
// shard that did it, and every shard's outcome.
type Result struct {
	Verdict Verdict
	// ShardCode, for AllRefused, is the shards' answer code.
	ShardCode int
	// Object is the Chef answer of the first shard (by name) that did it.
	Object map[string]any
	// Shard is the shard a node write went to.
	Shard    string
	Outcomes []Outcome
	// Message explains a verdict other than WroteAll.
	Message string
}

// Shards lists the shards the write went to.
func (r *Result) Shards() []string {
	out := make([]string, len(r.Outcomes))
	for i, o := range r.Outcomes {
		out[i] = o.Name
	}
	return out
}

type shardWrite struct {
	shard shards.Shard
	out   Outcome
	body  map[string]any
	// refusal is the shard's refusal, for its text when it sent none.
	refusal *shards.StatusError
}

// writeOne sends one write to one shard.
func (wr *Writer) writeOne(ctx context.Context, s shards.Shard, method string, path shards.Path, body any) shardWrite {
	w := shardWrite{shard: s, out: Outcome{Name: s.Name}}
	c, err := wr.shards.Client(s)
	var data []byte
	var code int
	if err == nil {
		code, data, err = c.Write(ctx, method, path, body)
	}
	if wr.shards.FanOptions().OnShardResult != nil && !fanout.IsClientError(err) {
		wr.shards.FanOptions().OnShardResult(s.Name, err)
	}
	var se *shards.StatusError
	switch {
	case err == nil:
		w.out.Status, w.out.Code = api.WriteOK, code
		var obj map[string]any
		if len(data) > 0 && shards.DecodeJSON(data, &obj) == nil {
			w.body = obj
		}
	case errors.As(err, &se):
		w.out.Code, w.out.Error = se.Status, strings.Join(se.Messages, "; ")
		w.out.Status, w.refusal = api.WriteRefused, se
		if se.Status >= 500 {
			w.out.Status = api.WriteFailed
		}
	default:
		w.out.Status, w.out.Error = api.WriteFailed, fanout.Detail(err, s.Name)
	}
	return w
}

// writeAll sends the same write to every target side by side; one shard
// failing never stops the others.
func (wr *Writer) writeAll(ctx context.Context, targets []shards.Shard, method string, path shards.Path, body any) []shardWrite {
	res := make([]shardWrite, len(targets))
	var g errgroup.Group
	g.SetLimit(wr.shards.FanOptions().MostAtOnce())
	for i, s := range targets {
		g.Go(func() error {
			res[i] = wr.writeOne(ctx, s, method, path, body)
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
func (wr *Writer) StackWrite(ctx context.Context, stack, method string, ref ObjectRef, body map[string]any) (*Result, error) {
	if ref.Kind == KindNode {
		return nil, fault.Errorf(fault.Internal, "node writes go through NodeWrite")
	}
	if err := ref.Check(); err != nil {
		return nil, err
	}
	targets, err := wr.WriteTargets(stack)
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
	res := wr.writeAll(ctx, targets, method, p, body)
	if method == methodPut {
		wr.createWhereMissing(ctx, ref, body, res)
	}
	wr.changed(true)
	return aggregate(method, ref, res), nil
}

// WriteTargets are the shards of the one stack a write is for: a change
// meant for prod must not reach dev because no stack was named.
func (wr *Writer) WriteTargets(stack string) ([]shards.Shard, error) {
	targets, err := wr.shards.Targets(stack, nil)
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
		return nil, fault.Errorf(fault.BadRequest, "a write goes to one stack, and %q spans %s: give ?stack=NAME (gnife: --stack NAME)", wr.shards.Stack(stack), strings.Join(names, ", "))
	}
	return targets, nil
}

// createWhereMissing turns the 404s of a PUT into creates, when at least
// one shard held the object: those shards had missed an earlier upload.
func (wr *Writer) createWhereMissing(ctx context.Context, ref ObjectRef, body map[string]any, res []shardWrite) {
	any2xx := false
	var missing []int
	for i, r := range res {
		if r.out.Status == api.WriteOK {
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
	g.SetLimit(wr.shards.FanOptions().MostAtOnce())
	for _, i := range missing {
		g.Go(func() error {
			w := wr.createOn(ctx, res[i].shard, ref, body)
			if w.out.Status == api.WriteOK {
				w.out.Status = api.WriteCreated
			}
			res[i] = w
			return nil
		})
	}
	g.Wait()
}

// createOn creates an object on one shard, the data bag first when an
// item's bag is missing there too.
func (wr *Writer) createOn(ctx context.Context, s shards.Shard, ref ObjectRef, body any) shardWrite {
	p, err := ref.createPath()
	if err != nil {
		return shardWrite{shard: s, out: Outcome{Name: s.Name, Status: api.WriteFailed, Error: err.Error()}}
	}
	w := wr.writeOne(ctx, s, methodPost, p, body)
	if ref.Kind == KindDataBagItem && w.out.Code == chefNotFound {
		bags, _ := shards.WritePath(methodPost, shards.DataBags)
		bag := wr.writeOne(ctx, s, methodPost, bags, map[string]any{"name": ref.Name})
		if bag.out.Status != api.WriteOK && bag.out.Code != chefConflict {
			return bag
		}
		w = wr.writeOne(ctx, s, methodPost, p, body)
	}
	return w
}

// aggregate turns per-shard outcomes into one verdict: every shard done,
// some, or none; or every shard refusing alike (a 404, a 409 for a
// create, a 400 for bad data), so a Chef client reacts as it would to one
// server.
func aggregate(method string, ref ObjectRef, res []shardWrite) *Result {
	wr := &Result{Outcomes: make([]Outcome, len(res))}
	codes := map[int]int{}
	done := 0
	for i := range res {
		r := &res[i]
		if r.out.Status == api.WriteRefused {
			codes[r.out.Code]++
		}
		if r.out.Status == api.WriteOK || r.out.Status == api.WriteCreated {
			done++
		}
	}
	n := len(res)
	// Outcomes that mean "already as wanted", once some shard did it.
	for i := range res {
		r := &res[i]
		switch {
		case method == methodDelete && r.out.Code == chefNotFound && done > 0:
			r.out.Status = api.WriteAbsent
		case method == methodPost && r.out.Code == chefConflict:
			r.out.Status = api.WriteExists
			if ref.Kind == KindDataBag && done > 0 {
				// A bag has no content: there, it is as wanted.
				r.out.Status = api.WriteOK
			}
		}
	}
	for i, r := range res {
		wr.Outcomes[i] = r.out
	}
	for code, c := range codes {
		if c == n {
			wr.Verdict, wr.ShardCode = AllRefused, code
			wr.Message = firstError(res)
			return wr
		}
	}
	if method == methodPut && done == 0 && codes[chefNotFound] > 0 && codes[chefNotFound]+failedCount(res) == n {
		// Missing wherever it could be asked: a Chef client then creates
		// it (POST), which reaches the shards that answer and names the
		// others. Nothing was changed.
		wr.Verdict, wr.ShardCode = AllRefused, chefNotFound
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
		if r.out.Status == api.WriteFailed {
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
