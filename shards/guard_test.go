package shards

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shearch/shearch/internal/waitfor"
)

func okSend(context.Context) (int, []byte, error) { return 200, []byte("{}"), nil }

// The bound holds across callers: never more than MaxInFlight sent at
// once; the queue takes MaxWaiting more; past it, 429 at once.
func TestGuardBoundsAndSheds(t *testing.T) {
	gs := NewGuards(GuardConfig{MaxInFlight: 2, MaxWaiting: 3, MaxWait: 2 * time.Second}, nil)
	g := gs.For("chef-1")
	release := make(chan struct{})
	var open, most atomic.Int64
	send := func(context.Context) (int, []byte, error) {
		n := open.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		open.Add(-1)
		return 200, nil, nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 5 { // 2 in flight, 3 waiting
		wg.Add(1)
		go func() { defer wg.Done(); _, err := g.Do(context.Background(), true, send); errs <- err }()
	}
	waitfor.Until(t, "3 requests queued and 2 in flight", func() bool { _, _, w := g.slots.state(); return w == 3 && open.Load() == 2 })
	begin := time.Now()
	_, err := g.Do(context.Background(), true, send)
	var oe *OverloadedError
	if !errors.As(err, &oe) || oe.Status != 429 || oe.RetryAfter <= 0 {
		t.Fatalf("6th request with a full queue: got %v, want a 429 OverloadedError with RetryAfter", err)
	}
	if time.Since(begin) > 100*time.Millisecond {
		t.Errorf("a full queue must shed at once, took %s", time.Since(begin))
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued request: %v", err)
		}
	}
	if most.Load() != 2 {
		t.Errorf("most requests open at once: %d, want 2", most.Load())
	}
}

// A request that waits longer than MaxWait is shed with 429. The bubble's
// clock runs the wait at once.
func TestGuardShedsAfterMaxWait(t *testing.T) {
	synctest.Test(t, testGuardShedsAfterMaxWait)
}

func testGuardShedsAfterMaxWait(t *testing.T) {
	g := NewGuards(GuardConfig{MaxInFlight: 1, MaxWait: 50 * time.Millisecond}, nil).For("chef-1")
	release, started := make(chan struct{}), make(chan struct{})
	go g.Do(context.Background(), true, func(context.Context) (int, []byte, error) { close(started); <-release; return 200, nil, nil })
	<-started
	_, err := g.Do(context.Background(), true, okSend)
	close(release)
	var oe *OverloadedError
	if !errors.As(err, &oe) || oe.Status != 429 {
		t.Fatalf("got %v, want 429 after max_wait", err)
	}
	synctest.Wait()
}

// After BreakerFailures connection failures the breaker opens and the
// shard is skipped without a request; after the interval one probe goes
// through, and a success closes it. The interval passes on the bubble's
// clock, and "the probe is out" is known, not polled for.
func TestGuardBreakerOpensAndCloses(t *testing.T) {
	synctest.Test(t, testGuardBreakerOpensAndCloses)
}

func testGuardBreakerOpensAndCloses(t *testing.T) {
	g := NewGuards(GuardConfig{BreakerFailures: 3, BreakerInterval: 100 * time.Millisecond, RetryBudget: -1}, nil).For("chef-1")
	var sent atomic.Int64
	fail := func(context.Context) (int, []byte, error) {
		sent.Add(1)
		return 0, nil, &NetError{Shard: "chef-1", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	}
	for range 3 {
		g.Do(context.Background(), true, fail)
	}
	_, err := g.Do(context.Background(), true, fail)
	var be *BreakerOpenError
	if !errors.As(err, &be) || sent.Load() != 3 {
		t.Fatalf("4th request: %v after %d sent; want breaker open and no 4th request sent", err, sent.Load())
	}
	if g.Reachable() {
		t.Error("a shard with an open breaker reads as reachable")
	}
	time.Sleep(100*time.Millisecond + time.Nanosecond)
	// Half-open: one probe; others meanwhile are refused.
	probe := make(chan struct{})
	go g.Do(context.Background(), true, func(context.Context) (int, []byte, error) { <-probe; return 200, nil, nil })
	synctest.Wait()
	if n := g.cb.Counts().Requests; n != 1 {
		t.Fatalf("%d requests out while half-open, want the one probe", n)
	}
	if _, err := g.Do(context.Background(), true, okSend); !errors.As(err, &be) {
		t.Errorf("a second request while the probe is out: %v, want breaker open", err)
	}
	close(probe)
	synctest.Wait()
	if !g.Reachable() {
		t.Fatal("a good probe left the breaker open")
	}
	if _, err := g.Do(context.Background(), true, okSend); err != nil {
		t.Fatalf("after a good probe: %v", err)
	}
}

// An HTTP error is an answer: it never opens the breaker.
func TestGuardHTTPErrorsDoNotBreak(t *testing.T) {
	g := NewGuards(GuardConfig{BreakerFailures: 2}, nil).For("chef-1")
	for range 5 {
		g.Do(context.Background(), true, func(context.Context) (int, []byte, error) {
			return 500, nil, &StatusError{Shard: "chef-1", Status: 500}
		})
	}
	if !g.Reachable() {
		t.Fatal("500s opened the breaker")
	}
}

// A refused connection is retried once; a timeout is not; the retries
// come out of the budget.
func TestGuardRetry(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	defer ts.Close()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens: connection refused

	g := NewGuards(GuardConfig{RetryBudget: 0.1, BreakerFailures: 100}, nil).For("chef-1")
	get := func(ctx context.Context, url string) (int, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, &NetError{Shard: "chef-1", Err: err}
		}
		res.Body.Close()
		return res.StatusCode, nil, nil
	}
	// Ten good requests earn one retry.
	for range 10 {
		if _, err := g.Do(context.Background(), true, func(ctx context.Context) (int, []byte, error) { return get(ctx, ts.URL) }); err != nil {
			t.Fatal(err)
		}
	}
	var attempts atomic.Int64
	refusedThenOK := func(ctx context.Context) (int, []byte, error) {
		if attempts.Add(1) == 1 {
			return get(ctx, "http://"+deadAddr)
		}
		return get(ctx, ts.URL)
	}
	if _, err := g.Do(context.Background(), true, refusedThenOK); err != nil || attempts.Load() != 2 {
		t.Fatalf("refused then up: err %v after %d attempts; want a retry that succeeds", err, attempts.Load())
	}
	// The budget is spent: the next refused connection is not retried.
	attempts.Store(0)
	if _, err := g.Do(context.Background(), true, refusedThenOK); err == nil || attempts.Load() != 1 {
		t.Errorf("with an empty budget: err %v after %d attempts; want no retry", err, attempts.Load())
	}
	// A timeout is never retried, budget or not.
	g.budget.balance = 5
	attempts.Store(0)
	// A shard clock that runs out: the shard's own timeout.
	ctx := WithShardTimeout(context.Background(), 300*time.Millisecond)
	_, err := g.Do(ctx, true, func(ctx context.Context) (int, []byte, error) {
		attempts.Add(1)
		<-ctx.Done()
		return 0, nil, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) || attempts.Load() != 1 {
		t.Errorf("timeout: err %v after %d attempts; want one attempt", err, attempts.Load())
	}
	// Nor is a write.
	attempts.Store(0)
	g.Do(context.Background(), false, refusedThenOK)
	if attempts.Load() != 1 {
		t.Errorf("a non-idempotent request was retried (%d attempts)", attempts.Load())
	}
}
