// Package fanout asks every target shard of a request at once and says
// what each one did: Do runs one call per shard under a per-shard
// timeout and the concurrency bound, sheds the whole request when
// Shearch's own limits shed one part, reports each outcome to the health
// hook, and the helpers classify and summarize the shards' errors. It
// knows shards, never answers: it must never import net/http or the read
// engine (search).
package fanout

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/shards"
)

// Answer is what one target gave for one call.
type Answer[T any] struct {
	Shard shards.Shard
	// Value is what the call returned, kept on a failure too: a shard
	// that failed part-way may have counted or sent something.
	Value T
	Err   error
	// Status is the shard's line in the summary. Do leaves Rows at 0:
	// only the caller knows what its T counts (Count).
	Status api.ShardStatus
}

// Options are the bounds and hooks of a fan-out.
type Options struct {
	// Limit bounds the targets asked at once (default 16).
	Limit int
	// Timeout bounds each target's whole call when the shard has no
	// timeout of its own (default 10s).
	Timeout time.Duration
	// Client gives a target's client; an error fails that target alone.
	Client func(shards.Shard) (*shards.Client, error)
	// OnShardResult hears every outcome that says something of the
	// shard's health (nil error for a success).
	OnShardResult func(shard string, err error)
}

const (
	defaultLimit   = 16
	defaultTimeout = 10 * time.Second
)

// MostAtOnce is Limit, or its default when unset: errgroup takes a
// limit of 0 to mean that nothing ever runs.
func (o Options) MostAtOnce() int {
	if o.Limit <= 0 {
		return defaultLimit
	}
	return o.Limit
}

// Do asks every target at once (at most Limit at a time) and never
// cancels the others when one fails: a failed shard is reported, not
// fatal. Answers are in the targets' order.
func Do[T any](ctx context.Context, targets []shards.Shard, call func(context.Context, *shards.Client) (T, error), opts Options) []Answer[T] {
	answers := make([]Answer[T], len(targets))
	// A part shed by Shearch's own limits sheds the whole request: the
	// other parts stop waiting at once and give their queue places to
	// requests that can still be served whole.
	ctx, shedAll := context.WithCancel(ctx)
	defer shedAll()
	var g errgroup.Group
	g.SetLimit(opts.MostAtOnce())
	for i, s := range targets {
		g.Go(func() error {
			begin := time.Now()
			a := Answer[T]{Shard: s, Status: api.ShardStatus{Name: s.Name, Stack: s.Stack, Status: api.StatusOK}}
			c, err := opts.Client(s)
			if err == nil {
				a.Value, err = call(shards.WithShardTimeout(ctx, timeout(s, opts)), c)
			}
			a.Status.TookMS = time.Since(begin).Milliseconds()
			a.fail(err)
			if Overload(err) != nil {
				shedAll()
			}
			Report(opts.OnShardResult, s.Name, err)
			answers[i] = a
			return nil
		})
	}
	g.Wait()
	return answers
}

// timeout bounds one shard's whole answer (every page of it), so a
// hanging shard costs that timeout once. The shard's time runs only
// while one of its requests holds a slot: time in Shearch's own queue is
// bounded by search.max_wait, and running out of it sheds the whole
// request, never this shard's part alone.
func timeout(s shards.Shard, opts Options) time.Duration {
	switch {
	case s.Timeout > 0:
		return s.Timeout
	case opts.Timeout > 0:
		return opts.Timeout
	}
	return defaultTimeout
}

// Start is a target's answer before its call: it is ok until Fail.
func Start[T any](s shards.Shard) Answer[T] {
	return Answer[T]{Shard: s, Status: api.ShardStatus{Name: s.Name, Stack: s.Stack, Status: api.StatusOK}}
}

// Fail marks the answer failed with err (nil leaves it as it is).
func (a *Answer[T]) Fail(err error) { a.fail(err) }

func (a *Answer[T]) fail(err error) {
	if err == nil {
		return
	}
	a.Err = err
	a.Status.Status = api.StatusFailed
	a.Status.Error = Detail(err, a.Shard.Name)
}

// Report tells hook the outcome of a request to shard unless it says
// nothing of the shard's health: a refusal of the request itself (4xx)
// or a Blameless error.
func Report(hook func(shard string, err error), shard string, err error) {
	if hook != nil && !IsClientError(err) && !Blameless(err) {
		hook(shard, err)
	}
}

// Count sets each answer's row count in its summary line from its value.
func Count[T any](answers []Answer[T], rows func(T) int) {
	for i := range answers {
		answers[i].Status.Rows = rows(answers[i].Value)
	}
}
