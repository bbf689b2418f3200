package flight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shearch/shearch/internal/waitfor"
)

type ctxKey struct{}

// TestSharedCallCancel: callers of one key share one call; the call runs
// on while anyone still waits, stops when the last one leaves, and a
// caller after that starts it afresh rather than join a cancelled call.
// It runs in a bubble, so "every goroutine is blocked" is known, not slept
// for.
func TestSharedCallCancel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		callers int
		// leave are the callers that give up while the call runs.
		leave []int
		// stopped: the call's context was cancelled.
		stopped bool
	}{
		{name: "one caller stays", callers: 1},
		{name: "one caller leaves", callers: 1, leave: []int{0}, stopped: true},
		{name: "the first of two leaves", callers: 2, leave: []int{0}},
		{name: "the joiner leaves", callers: 3, leave: []int{2}},
		{name: "all but one leave", callers: 3, leave: []int{0, 2}},
		{name: "everyone leaves", callers: 3, leave: []int{1, 0, 2}, stopped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g Group
				var runs int
				var callErr error
				var sawValue any
				release := make(chan struct{})
				fn := func(ctx context.Context) (any, error) {
					runs++
					sawValue = ctx.Value(ctxKey{})
					select {
					case <-release:
						return fmt.Sprint("answer ", runs), nil
					case <-ctx.Done():
						callErr = ctx.Err()
						return nil, ctx.Err()
					}
				}
				type got struct {
					val    any
					err    error
					shared bool
				}
				results := make([]got, tc.callers)
				cancels := make([]context.CancelFunc, tc.callers)
				var wg sync.WaitGroup
				for i := range tc.callers {
					ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-id"))
					cancels[i] = cancel
					wg.Go(func() {
						v, err, shared := g.Do(ctx, "k", time.Minute, fn)
						results[i] = got{v, err, shared}
					})
					// Callers arrive in order, so caller 0 starts the call.
					synctest.Wait()
				}
				for _, i := range tc.leave {
					cancels[i]()
					synctest.Wait()
				}
				if (callErr != nil) != tc.stopped {
					t.Fatalf("call stopped with %v; want stopped=%v", callErr, tc.stopped)
				}
				if g.Running("k") == tc.stopped {
					t.Errorf("running=%v after the callers left", g.Running("k"))
				}
				close(release)
				wg.Wait()
				if runs != 1 {
					t.Errorf("the call ran %d times for %d callers, want once", runs, tc.callers)
				}
				if sawValue != "request-id" {
					t.Errorf("the call saw request id %v: it must keep its first caller's values", sawValue)
				}
				for i, r := range results {
					if (i == 0) == r.shared {
						t.Errorf("caller %d: shared=%v", i, r.shared)
					}
					if slices.Contains(tc.leave, i) {
						if !errors.Is(r.err, context.Canceled) {
							t.Errorf("caller %d left but got %v, %v", i, r.val, r.err)
						}
					} else if r.err != nil || r.val != "answer 1" {
						t.Errorf("caller %d stayed but got %v, %v", i, r.val, r.err)
					}
				}
				// A caller now never joins a stopped call.
				v, err, shared := g.Do(context.Background(), "k", time.Minute, func(context.Context) (any, error) { return "fresh", nil })
				if v != "fresh" || err != nil || shared {
					t.Errorf("a later caller got %v, %v, shared=%v; want a fresh call", v, err, shared)
				}
				for _, c := range cancels {
					c()
				}
			})
		})
	}
}

// TestSharedCallTimeout: the call is bounded by its own timeout, not by
// its callers' contexts, and every caller hears how it ended.
func TestSharedCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group
		began := time.Now()
		fn := func(ctx context.Context) (any, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("fan-out: %w", ctx.Err())
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { _, errs[i], _ = g.Do(context.Background(), "k", 5*time.Second, fn) })
		}
		wg.Wait()
		if took := time.Since(began); took != 5*time.Second {
			t.Errorf("the call ended after %s, want its 5s timeout", took)
		}
		for i, err := range errs {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("caller %d: %v, want the call's deadline", i, err)
			}
		}
	})
}

// TestSharedCallKeys: calls of different keys never share.
func TestSharedCallKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group
		release := make(chan struct{})
		var mu sync.Mutex
		runs := map[string]int{}
		call := func(key string) func(context.Context) (any, error) {
			return func(context.Context) (any, error) {
				mu.Lock()
				runs[key]++
				mu.Unlock()
				<-release
				return key, nil
			}
		}
		var wg sync.WaitGroup
		for _, k := range []string{"a", "b", "a"} {
			wg.Go(func() {
				if v, err, _ := g.Do(context.Background(), k, time.Minute, call(k)); v != k || err != nil {
					t.Errorf("key %s got %v, %v", k, v, err)
				}
			})
			synctest.Wait()
		}
		close(release)
		wg.Wait()
		if runs["a"] != 1 || runs["b"] != 1 {
			t.Errorf("runs %v, want one call per key", runs)
		}
	})
}

func TestSharedCallCancelledWhenLastWaiterLeaves(t *testing.T) {
	var g Group
	stopped := make(chan struct{})
	started := make(chan struct{})
	fn := func(ctx context.Context) (any, error) {
		close(started)
		<-ctx.Done()
		close(stopped)
		return nil, ctx.Err()
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { _, err, _ := g.Do(ctx1, "k", time.Minute, fn); errs <- err }()
	<-started
	var joined atomic.Bool
	go func() {
		_, err, shared := g.Do(ctx2, "k", time.Minute, fn)
		joined.Store(shared)
		errs <- err
	}()
	waitfor.Until(t, "two callers waiting on the shared call", func() bool { return g.Waiters("k") == 2 })
	cancel1()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("first waiter: %v", err)
	}
	select {
	case <-stopped:
		t.Fatal("the call stopped while a second waiter still waited")
	case <-time.After(50 * time.Millisecond):
	}
	cancel2()
	<-errs
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the call still runs after its last waiter left")
	}
	if !joined.Load() {
		t.Error("the second caller did not join the first call")
	}
}
