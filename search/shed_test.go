package search

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/waitfor"
	"github.com/shearch/shearch/shards"
)

// A part shed by Shearch's own limits sheds the whole request at once: the
// other shards' parts stop waiting, rather than hold queue places until
// search.max_wait for an answer that will be thrown away.
func TestShedPartShedsWholeRequest(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	blocking := func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "busy") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		chefLike(false)(w, r)
	}
	a, b := newFakeShard(t, blocking), newFakeShard(t, blocking)
	e := engineFor(t, 10*time.Second, a.URL, b.URL)
	e.Guards = shards.NewGuards(shards.GuardConfig{MaxInFlight: 1, MaxWaiting: 1, MaxWait: 5 * time.Second, BreakerFailures: 100}, nil)
	// One query holds each shard's only slot; a second, of b alone, waits
	// in b's queue, which is then full. a's queue has room.
	go e.Search(context.Background(), Request{Index: "node", Query: "name:busy1", Partial: map[string][]string{}})
	waitfor.Until(t, `a.open.Load() == 1 && b.open.Load() == 1`, func() bool { return a.open.Load() == 1 && b.open.Load() == 1 })
	go e.Search(context.Background(), Request{Index: "node", Query: "name:busy2", Shards: []string{"chef-2"}, Partial: map[string][]string{}})
	waitfor.Until(t, "one request queued at chef-2's guard", func() bool { _, _, w := e.Guards.For("chef-2").State(); return w == 1 })
	begin := time.Now()
	_, err := e.Search(context.Background(), Request{Index: "node", Query: "name:web-1", Partial: map[string][]string{}})
	var se *fault.Error
	if !errors.As(err, &se) || se.Kind != fault.Overloaded || se.RetryAfter <= 0 {
		t.Fatalf("a search behind full queues: %v, want a 429 with Retry-After", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("shed after %s: a full queue sheds at once", took)
	}
	// The shed request left no waiter behind on a.
	if _, _, w := e.Guards.For("chef-1").State(); w != 0 {
		t.Errorf("shard chef-1: %d waiting after the shed request, want none", w)
	}
}

// Copies of a query share its page's object reads as well as its
// fan-out: 20 identical searches for a page of a bigger answer read the
// page's objects once.
func TestCopiesSharePageObjects(t *testing.T) {
	a := newDataShard(t, "a", 1500, 2000, nil)
	e := dataEngine(t, a)
	e.FetchByGet = false
	release := make(chan struct{})
	a.gate = release
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Search(context.Background(), Request{Index: "node", Query: "*:*", Start: 1200, Rows: 10})
			if err != nil {
				t.Error(err)
				return
			}
			if len(res.Rows) != 10 {
				t.Errorf("%d rows, want 10", len(res.Rows))
			}
		}()
	}
	waitfor.Until(t, "20 searches waiting on one read of the page's objects", func() bool { return e.shared.Waiters("page\x00") == 20 })
	close(release)
	wg.Wait()
	if n := queriesLike(a, "name:"); n != 1 {
		t.Errorf("20 identical pages read their objects %d times, want once", n)
	}
}

// The engine keeps a client only for the shards of the topology as it is:
// a shard that left, or whose URL changed, has its client dropped.
func TestClientsFollowTopology(t *testing.T) {
	a, b := newFakeShard(t, chefLike(false)), newFakeShard(t, chefLike(false))
	e := engineFor(t, 5*time.Second, a.URL, b.URL)
	if _, err := e.Search(context.Background(), Request{Index: "node", Query: "name:web-1"}); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		e.clients.Range(func(any, any) bool { n++; return true })
		return n
	}
	if n := count(); n != 2 {
		t.Fatalf("%d clients for 2 shards", n)
	}
	// chef-2 leaves; chef-1 moves.
	c := newFakeShard(t, chefLike(false))
	moved := e.Topology.(StaticShards)[0]
	moved.URL = c.URL
	e.Topology = StaticShards{moved}
	if _, err := e.Search(context.Background(), Request{Index: "node", Query: "name:web-2"}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d clients kept for a topology of 1 shard", n)
	}
}

// The map of nodes several shards hold is kept only when every shard gave
// its names: a map missing a failed shard's names would let stale copies
// through until it expires.
func TestOwnersMapNotKeptHalfBuilt(t *testing.T) {
	var fail sync.Mutex
	failing := true
	var ownersPasses int
	b := newFakeShard(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Query().Get("q") == "*:*" {
			fail.Lock()
			ownersPasses++
			f := failing
			fail.Unlock()
			if f {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		}
		chefLike(false)(w, r)
	})
	a := newFakeShard(t, chefLike(false))
	e := engineFor(t, 5*time.Second, a.URL, b.URL)
	for i := range 2 {
		if _, err := e.Search(context.Background(), Request{Index: "node", Query: "name:web-1"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fail.Lock()
			failing = false
			fail.Unlock()
		}
	}
	if ownersPasses != 2 {
		t.Errorf("the owners pass ran %d times over two searches, the first failing on one shard; want 2 (a half map is not kept)", ownersPasses)
	}
}

// A page whose objects come in several chunks fails as a whole when one
// chunk fails: the others are stopped, not waited for.
func TestFailedChunkStopsTheOthers(t *testing.T) {
	a := newDataShard(t, "a", 1500, 2000, nil)
	e := dataEngine(t, a)
	e.FetchChunk = 5
	a.gate = make(chan struct{})
	defer close(a.gate)
	a.failName = "a-01203"
	begin := time.Now()
	_, err := e.Search(context.Background(), Request{Index: "node", Query: "*:*", Start: 1200, Rows: 10})
	if err == nil {
		t.Fatal("a page with a failed chunk succeeded")
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("the page failed after %s: the other chunk was waited for", took)
	}
}
