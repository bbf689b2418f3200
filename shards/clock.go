package shards

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The shard timeout (shards.timeout) is time spent on the shard, not time
// spent in Shearch's own queue for it. A client request's shard clocks run
// only while one of its requests to that shard holds a slot, so a burst
// that keeps a request queued can shed it (search.max_wait: overload, the
// whole request) but never cut a shard's part short and call the answer
// partial.

type clocksKey struct{}

// clocks holds one clock per shard for one client request, each started
// on the shard's first request.
type clocks struct {
	limit time.Duration
	mu    sync.Mutex
	m     map[string]*shardClock
}

// WithShardTimeout bounds the time each shard spends on ctx's requests,
// all its pages together, by d. Time waiting for a slot does not count.
func WithShardTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, clocksKey{}, &clocks{limit: d, m: map[string]*shardClock{}})
}

func clockFor(ctx context.Context, shard string) *shardClock {
	cs, _ := ctx.Value(clocksKey{}).(*clocks)
	if cs == nil {
		return nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[shard]
	if !ok {
		c = &shardClock{limit: cs.limit}
		cs.m[shard] = c
	}
	return c
}

// shardClock counts the time during which at least one request to the
// shard was open: requests in parallel (a small page asked together with
// its names) spend it once.
type shardClock struct {
	limit  time.Duration
	mu     sync.Mutex
	spent  time.Duration
	active int
	since  time.Time
}

// start opens one request and returns the time it may take.
func (c *shardClock) start() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.active == 0 {
		c.since = now
	}
	c.active++
	return c.limit - c.spent - now.Sub(c.since)
}

func (c *shardClock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active--
	if c.active == 0 {
		c.spent += time.Since(c.since)
	}
}

// TimeoutError is a shard that did not finish within shards.timeout of
// shard time: the shard's failure, reported as a partial answer.
type TimeoutError struct {
	Shard string
	Limit time.Duration
}

func (e *TimeoutError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *TimeoutError) Detail() string {
	return fmt.Sprintf("timed out after %s (shards.timeout)", e.Limit)
}

// ShardName is the shard that failed.
func (e *TimeoutError) ShardName() string { return e.Shard }

// Unwrap lets errors.Is(err, context.DeadlineExceeded) hold.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout marks it as a net-style timeout.
func (e *TimeoutError) Timeout() bool { return true }
