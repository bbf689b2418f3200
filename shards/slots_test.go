package shards

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/waitfor"
)

// holdSlot takes g's only slot until release is closed.
func holdSlot(t *testing.T, g *Guard, release chan struct{}) {
	t.Helper()
	started := make(chan struct{})
	go g.Do(context.Background(), true, func(context.Context) (int, []byte, error) {
		close(started)
		<-release
		return 200, nil, nil
	})
	<-started
}

// Time spent waiting for a slot is not shard time: a request that waits
// longer than its shard timeout, then gets an answer in time, succeeds.
func TestShardClockSkipsQueueTime(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 1, MaxWait: 5 * time.Second}, nil).For("chef-1")
	release := make(chan struct{})
	holdSlot(t, g, release)
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	ctx := WithShardTimeout(context.Background(), 200*time.Millisecond)
	_, err := g.Do(ctx, true, func(ctx context.Context) (int, []byte, error) {
		select {
		case <-time.After(50 * time.Millisecond):
			return 200, nil, nil
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	})
	if err != nil {
		t.Fatalf("after 300 ms in the queue and a 50 ms answer, with a 200 ms shard timeout: %v", err)
	}
}

// The clock adds up a request's pages: a shard slower than its timeout
// over several requests fails as timed out, naming the setting.
func TestShardClockSpansPages(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 2}, nil).For("chef-1")
	ctx := WithShardTimeout(context.Background(), 250*time.Millisecond)
	page := func(ctx context.Context) (int, []byte, error) {
		select {
		case <-time.After(100 * time.Millisecond):
			return 200, nil, nil
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	var err error
	pages := 0
	for ; pages < 5 && err == nil; pages++ {
		_, err = g.Do(ctx, true, page)
	}
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || pages != 3 {
		t.Fatalf("pages of 100 ms against 250 ms: %v after %d pages; want a TimeoutError on the third", err, pages)
	}
	if want := "shard chef-1: timed out after 250ms (shards.timeout)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// A request whose ticket is admitted goes ahead of requests that have
// not started, and takes no queue place: a full queue does not shed it.
func TestAdmittedRequestsGoFirst(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 1, MaxWaiting: 1, MaxWait: 5 * time.Second}, nil).For("chef-1")
	release := make(chan struct{})
	holdSlot(t, g, release)
	var mu sync.Mutex
	var order []string
	run := func(ctx context.Context, name string, errs chan<- error) {
		_, err := g.Do(ctx, true, func(context.Context) (int, []byte, error) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return 200, nil, nil
		})
		errs <- err
	}
	errs := make(chan error, 3)
	go run(WithTicket(context.Background()), "fresh", errs)
	waitfor.Until(t, "one request queued", func() bool { _, _, w := g.slots.state(); return w == 1 })
	started := WithTicket(context.Background())
	Admit(started)
	go run(started, "started", errs)
	waitfor.Until(t, "two requests queued", func() bool { _, _, w := g.slots.state(); return w == 2 })
	// The queue's one place is taken: a third, new request is shed.
	_, err := g.Do(WithTicket(context.Background()), true, okSend)
	var oe *OverloadedError
	if !errors.As(err, &oe) {
		t.Fatalf("a new request behind a full queue: %v, want shed", err)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if len(order) != 2 || order[0] != "started" {
		t.Errorf("slots went to %v, want the started request first", order)
	}
}

// A ticket is admitted once it gets a slot: its next request passes new
// ones.
func TestTicketAdmittedBySlot(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 1}, nil).For("chef-1")
	ctx := WithTicket(context.Background())
	if TicketFrom(ctx).isAdmitted() {
		t.Fatal("a new ticket is admitted")
	}
	if _, err := g.Do(ctx, true, okSend); err != nil {
		t.Fatal(err)
	}
	if !TicketFrom(ctx).isAdmitted() {
		t.Error("a ticket that got a slot is not admitted")
	}
	if WithTicket(ctx) != ctx {
		t.Error("WithTicket replaced a request's ticket")
	}
}

// Retry-After grows with the queue ahead and the shard's pace, within
// its bounds, in whole seconds.
func TestRetryAfterFromQueue(t *testing.T) {
	cases := []struct {
		latency  time.Duration
		waiting  int
		min, max time.Duration
	}{
		{10 * time.Millisecond, 4, time.Second, time.Second},        // a short queue: the floor
		{time.Second, 40, 11 * time.Second, 17 * time.Second},       // 4 open and 40 waiting for 4 slots at 1 s: 11 s, +up to half
		{10 * time.Second, 200, 30 * time.Second, 30 * time.Second}, // the ceiling
	}
	for _, c := range cases {
		g := NewGuards(GuardConfig{MaxInFlight: 4, MaxWaiting: 1000}, nil).For("chef-1")
		g.latency.Store(int64(c.latency))
		g.slots.mu.Lock()
		g.slots.used = 4
		for range c.waiting {
			g.slots.queue.PushBack(&slotWaiter{ready: make(chan struct{})})
		}
		g.slots.mu.Unlock()
		for range 20 {
			ra := g.overloaded("test").RetryAfter
			if ra < c.min || ra > c.max || ra%time.Second != 0 {
				t.Errorf("latency %s, %d waiting: Retry-After %s, want whole seconds in [%s, %s]", c.latency, c.waiting, ra, c.min, c.max)
				break
			}
		}
	}
}

// A request Shearch abandons keeps its slot for about the shard's answer
// time: the shard is still working on it, so sending the next one at once
// would put one more than the bound on the shard.
func TestAbandonedRequestKeepsSlotWhileShardWorks(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 1}, nil).For("chef-1")
	g.latency.Store(int64(300 * time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := g.Do(ctx, true, func(ctx context.Context) (int, []byte, error) {
		cancel()
		<-ctx.Done()
		return 0, nil, ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned request: %v", err)
	}
	if _, open, _ := g.State(); open != 1 {
		t.Errorf("%d slots held right after an abandoned request, want 1", open)
	}
	waitfor.Until(t, "no request in flight", func() bool { _, open, _ := g.State(); return open == 0 })
	// A request that completes gives its slot back at once.
	if _, err := g.Do(context.Background(), true, okSend); err != nil {
		t.Fatal(err)
	}
	if _, open, _ := g.State(); open != 0 {
		t.Errorf("%d slots held after a completed request", open)
	}
}

// A request whose client left before it was sent (it got its slot as the
// client went, or at once with the client gone) never reached the shard:
// its slot is free at once, not held as if the shard were working on it.
func TestCanceledBeforeSendFreesSlotAtOnce(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 1}, nil).For("chef-1")
	g.latency.Store(int64(2 * time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sent := false
	_, err := g.Do(ctx, true, func(ctx context.Context) (int, []byte, error) {
		// As net/http does: a cancelled context sends nothing.
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		sent = true
		return 200, nil, nil
	})
	if !errors.Is(err, context.Canceled) || sent {
		t.Fatalf("a request of a client that left: sent %v, %v", sent, err)
	}
	if _, open, _ := g.State(); open != 0 {
		t.Errorf("%d slots held by a request that was never sent, want 0", open)
	}
}
