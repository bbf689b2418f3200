// Package flight runs one call for all the concurrent callers that want
// the same thing, and stops it when the last of them leaves. It knows
// nothing of shards or HTTP and imports neither.
package flight

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Group runs one call per key for all the callers that want it at
// the same time, like singleflight, and cancels the call when its last
// caller leaves. singleflight cannot do that: its call runs on the first
// caller's context (one caller leaving fails them all) or on a detached
// one (nobody leaving ever stops it), with no count of who still waits.
type Group struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done    chan struct{}
	val     any
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Do runs fn once for key among concurrent callers and waits for it or for
// ctx. fn runs on a context that keeps ctx's values (the request id) but
// not its cancellation, bounded by timeout, and cancelled when every
// caller waiting on it has left. shared reports that the caller joined a
// call already under way.
func (g *Group) Do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (any, error)) (val any, err error, shared bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call{}
	}
	c, shared := g.calls[key]
	if !shared {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		c = &call{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			defer cancel()
			c.val, c.err = fn(cctx)
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		g.leave(key, c)
		return c.val, c.err, shared
	case <-ctx.Done():
		g.leave(key, c)
		return nil, ctx.Err(), shared
	}
}

// Running reports a call for key under way, which a new caller would join.
func (g *Group) Running(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.calls[key]
	return ok
}

func (g *Group) leave(key string, c *call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters > 0 {
		return
	}
	// Nobody waits any more: stop the shard requests, and let the next
	// caller start afresh rather than join a cancelled call.
	c.cancel()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
}

// Waiters is the most callers waiting on any one call whose key starts
// with prefix ("" for any), for tests to see callers join rather than
// sleep while they do.
func (g *Group) Waiters(prefix string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	most := 0
	for k, c := range g.calls {
		if strings.HasPrefix(k, prefix) {
			most = max(most, c.waiters)
		}
	}
	return most
}
