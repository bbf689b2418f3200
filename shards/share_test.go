package shards

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/waitfor"
)

// blocked runs n requests through g that stay open until release closes,
// and returns how many were open at most, once they all ended.
type blocked struct {
	open, most atomic.Int64
	release    chan struct{}
	wg         sync.WaitGroup
}

func (b *blocked) send(context.Context) (int, []byte, error) {
	n := b.open.Add(1)
	for m := b.most.Load(); n > m && !b.most.CompareAndSwap(m, n); m = b.most.Load() {
	}
	<-b.release
	b.open.Add(-1)
	return 200, nil, nil
}

func (b *blocked) start(g *Guard, n int) {
	for range n {
		b.wg.Go(func() { g.Do(context.Background(), true, b.send) })
	}
}

// A share smaller than the total bounds the requests in flight, for guards
// made before and after it is set; growing it lets the waiting ones go at
// once; the queue follows the waiting share.
func TestShareResizesSlots(t *testing.T) {
	gs := NewGuards(GuardConfig{MaxInFlight: 4, MaxWaiting: 8, MaxWait: 5 * time.Second}, nil)
	before := gs.For("chef-1")
	gs.SetShare(Share{InFlight: 2, Waiting: 4, Replicas: 2})
	after := gs.For("chef-2")
	for _, g := range []*Guard{before, after} {
		b := &blocked{release: make(chan struct{})}
		b.start(g, 6)
		waitfor.Until(t, `b.open.Load() == 2 && waiting(g) == 4`, func() bool { return b.open.Load() == 2 && waiting(g) == 4 })
		if limit, _, _ := g.State(); limit != 2 {
			t.Errorf("%s: limit %d, want 2", g.shard, limit)
		}
		_, err := g.Do(context.Background(), true, b.send)
		var oe *OverloadedError
		if !errors.As(err, &oe) || oe.Status != 429 {
			t.Errorf("%s: a 5th waiting request with a waiting share of 4: %v, want 429", g.shard, err)
		}
		gs.SetShare(Share{InFlight: 4, Waiting: 8, Replicas: 1})
		waitfor.Until(t, `b.open.Load() == 4`, func() bool { return b.open.Load() == 4 })
		close(b.release)
		b.wg.Wait()
		if b.most.Load() != 4 {
			t.Errorf("%s: most open %d after the share grew to 4", g.shard, b.most.Load())
		}
		gs.SetShare(Share{InFlight: 2, Waiting: 4, Replicas: 2})
	}
}

// Shrinking with requests in flight cuts none: the smaller share is
// reached as they finish, and holds from then on.
func TestShareShrinksAsRequestsFinish(t *testing.T) {
	gs := NewGuards(GuardConfig{MaxInFlight: 4, MaxWaiting: 16, MaxWait: 5 * time.Second}, nil)
	g := gs.For("chef-1")
	b := &blocked{release: make(chan struct{})}
	b.start(g, 4)
	waitfor.Until(t, `b.open.Load() == 4`, func() bool { return b.open.Load() == 4 })
	gs.SetShare(Share{InFlight: 1, Waiting: 16, Replicas: 4})
	close(b.release)
	b.wg.Wait()
	waitfor.Until(t, "one request queued and none in flight", func() bool { l, open, _ := g.State(); return l == 1 && open == 0 })
	b2 := &blocked{release: make(chan struct{})}
	b2.start(g, 5)
	waitfor.Until(t, `waiting(g) == 4`, func() bool { return waiting(g) == 4 })
	if b2.open.Load() != 1 {
		t.Errorf("after shrinking to 1 slot: %d open", b2.open.Load())
	}
	close(b2.release)
	b2.wg.Wait()
	if b2.most.Load() != 1 {
		t.Errorf("most open after shrinking to 1: %d", b2.most.Load())
	}
	// Shrink then grow while requests hold slots: the last word holds.
	b3 := &blocked{release: make(chan struct{})}
	gs.SetShare(Share{InFlight: 4, Waiting: 16, Replicas: 1})
	b3.start(g, 4)
	waitfor.Until(t, `b3.open.Load() == 4`, func() bool { return b3.open.Load() == 4 })
	gs.SetShare(Share{InFlight: 1, Waiting: 16, Replicas: 4})
	gs.SetShare(Share{InFlight: 3, Waiting: 16, Replicas: 1})
	close(b3.release)
	b3.wg.Wait()
	b4 := &blocked{release: make(chan struct{})}
	b4.start(g, 5)
	waitfor.Until(t, `waiting(g) == 2`, func() bool { return waiting(g) == 2 })
	if b4.open.Load() != 3 {
		t.Errorf("after shrink-then-grow to 3: %d open", b4.open.Load())
	}
	close(b4.release)
	b4.wg.Wait()
}

func waiting(g *Guard) int64 { _, _, w := g.State(); return int64(w) }
