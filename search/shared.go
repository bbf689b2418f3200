package search

import (
	"context"
	"sync"
	"time"
)

// sharedCalls runs one call per key for all the callers that want it at
// the same time, like singleflight, and cancels the call when its last
// caller leaves. singleflight cannot do that: its call runs on the first
// caller's context (one caller leaving fails them all) or on a detached
// one (nobody leaving ever stops it), with no count of who still waits.
type sharedCalls struct {
	mu    sync.Mutex
	calls map[string]*sharedCall
}

type sharedCall struct {
	done    chan struct{}
	val     any
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do runs fn once for key among concurrent callers and waits for it or for
// ctx. fn runs on a context that keeps ctx's values (the request id) but
// not its cancellation, bounded by timeout, and cancelled when every
// caller waiting on it has left. shared reports that the caller joined a
// call already under way.
func (g *sharedCalls) do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (any, error)) (val any, err error, shared bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*sharedCall{}
	}
	c, shared := g.calls[key]
	if !shared {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		c = &sharedCall{done: make(chan struct{}), cancel: cancel}
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

// running reports a call for key under way, which a new caller would join.
func (g *sharedCalls) running(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.calls[key]
	return ok
}

func (g *sharedCalls) leave(key string, c *sharedCall) {
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
