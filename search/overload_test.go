package search

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/waitfor"
	"github.com/shearch/shearch/shards"
)

// fakeShard is an in-process Chef server for engine unit tests. It counts
// the requests it has open and the requests it got, by path.
type fakeShard struct {
	*httptest.Server
	open, total atomic.Int64
	mu          sync.Mutex
	paths       map[string]int
	// handle answers a request; nil answers from the defaults below.
	handle func(w http.ResponseWriter, r *http.Request)
}

func newFakeShard(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *fakeShard {
	f := &fakeShard{paths: map[string]int{}, handle: handle}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.open.Add(1)
		defer f.open.Add(-1)
		f.total.Add(1)
		f.mu.Lock()
		f.paths[r.URL.Path]++
		f.mu.Unlock()
		f.handle(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeShard) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[path]
}

// hang blocks until the caller gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// chefLike answers a few Chef endpoints: one node web-1, a data bag
// "users" when bag is true, nothing else.
func chefLike(bag bool) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/search/node":
			json.NewEncoder(w).Encode(map[string]any{"total": 1, "start": 0, "rows": []any{map[string]any{"name": "web-1", "automatic": map[string]any{"ohai_time": 1}}}})
		case p == "/search/users" && bag:
			json.NewEncoder(w).Encode(map[string]any{"total": 1, "start": 0, "rows": []any{map[string]any{"name": "data_bag_item_users_alice", "raw_data": map[string]any{"id": "alice"}}}})
		case p == "/data":
			m := map[string]any{}
			if bag {
				m["users"] = "http://x/data/users"
			}
			json.NewEncoder(w).Encode(m)
		default:
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": []string{"not found: " + p}})
		}
	}
}

var (
	keyOnce sync.Once
	keyPath string
)

// testKey is a throwaway signing key; the fake shards check no signature.
func testKey(t *testing.T) string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "shearch-key-")
		if err != nil {
			t.Fatal(err)
		}
		keyPath = filepath.Join(dir, "admin.pem")
		b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		if err := os.WriteFile(keyPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
	})
	return keyPath
}

func engineFor(t *testing.T, timeout time.Duration, urls ...string) *Engine {
	var list StaticShards
	for i, u := range urls {
		list = append(list, shards.Shard{Name: "chef-" + string(rune('1'+i)), URL: u, Stack: "prod", ClientName: "admin", ClientKey: testKey(t)})
	}
	return MustNew(Config{DefaultStack: "prod", Timeout: timeout}, Deps{Topology: list, Guards: shards.NewGuards(shards.GuardConfig{MaxInFlight: 4, BreakerFailures: 100}, nil)})
}

// refusedURL is a loopback address where nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// A client that goes away stops its shard requests.
func TestAbandonedSearchStopsShardRequests(t *testing.T) {
	a, b := newFakeShard(t, hang), newFakeShard(t, hang)
	e := engineFor(t, 30*time.Second, a.URL, b.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.Search(ctx, Request{Index: "node", Query: "name:web-1"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the caller's deadline", err)
	}
	waitfor.Until(t, `a.open.Load() == 0 && b.open.Load() == 0`, func() bool { return a.open.Load() == 0 && b.open.Load() == 0 })
	before := a.total.Load() + b.total.Load()
	time.Sleep(100 * time.Millisecond)
	if after := a.total.Load() + b.total.Load(); after != before {
		t.Errorf("%d new shard requests after the caller left", after-before)
	}
}

// A hanging shard costs the per-shard timeout once: it is not asked again
// in the later passes of the same request, and the others' rows come back.
func TestHangingShardAskedOnce(t *testing.T) {
	good, bad := newFakeShard(t, chefLike(false)), newFakeShard(t, hang)
	e := engineFor(t, 300*time.Millisecond, good.URL, bad.URL)
	begin := time.Now()
	res, err := e.Search(context.Background(), Request{Index: "node", Query: "name:web-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answer with one hanging shard and a 300ms shard timeout took %s", time.Since(begin))
	if res.Shards.Failed != 1 || len(res.Rows) != 1 || !strings.Contains(res.Shards.Details[1].Error, "timed out") {
		t.Fatalf("want 1 row and chef-2 timed out, got %+v", res)
	}
	if n := bad.total.Load(); n != 1 {
		t.Errorf("the hanging shard got %d requests in one search, want 1", n)
	}
}

// A data bag search with a hanging shard: the index check's timeout is
// the only one paid, and the other shard's rows come back.
func TestHangingShardBagSearchAskedOnce(t *testing.T) {
	bad, good := newFakeShard(t, hang), newFakeShard(t, chefLike(true))
	e := engineFor(t, 300*time.Millisecond, bad.URL, good.URL)
	res, err := e.Search(context.Background(), Request{Index: "users"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Shards.Failed != 1 || res.Shards.Details[0].Name != "chef-1" || res.Shards.Details[0].Status != StatusFailed {
		t.Fatalf("want alice from chef-2 and chef-1 failed, in shard order: %+v", res)
	}
	if n := bad.total.Load(); n != 1 {
		t.Errorf("the hanging shard got %d requests in one bag search, want 1", n)
	}
}

// A node whose shard is down is a 502 naming it, not a 404 because the
// shard that answered lacks it; the same for a data bag item and a data
// bag search.
func TestDownShardIsNot404(t *testing.T) {
	up := newFakeShard(t, chefLike(false))
	e := engineFor(t, 2*time.Second, up.URL, refusedURL(t))
	node, _ := shards.ObjectPath(shards.Nodes, "db-9")
	item, _ := shards.ObjectPath(shards.DataBags, "users", "alice")
	for _, path := range []shards.Path{node, item} {
		_, err := e.Get(context.Background(), "", path, false)
		var se *fault.Error
		if !errors.As(err, &se) || se.Kind != fault.ShardsFailed || !strings.Contains(se.Message, "chef-2") {
			t.Errorf("%s: got %v, want a 502 naming chef-2", path, err)
		}
	}
	_, err := e.Search(context.Background(), Request{Index: "users", Query: "*:*"})
	var se *fault.Error
	if !errors.As(err, &se) || se.Kind != fault.ShardsFailed || !strings.Contains(se.Message, "chef-2") {
		t.Errorf("data bag search: got %v, want a 502 naming chef-2", err)
	}
}

// An unknown index is a 404 when every shard answered; a name Chef could
// never accept is a 400 without asking any shard.
func TestIndexDecidedBeforeFanOut(t *testing.T) {
	a, b := newFakeShard(t, chefLike(false)), newFakeShard(t, chefLike(true))
	e := engineFor(t, 2*time.Second, a.URL, b.URL)
	_, err := e.Search(context.Background(), Request{Index: "nosuchindex"})
	var se *fault.Error
	if !errors.As(err, &se) || se.Kind != fault.NotFound {
		t.Fatalf("unknown index: got %v, want 404", err)
	}
	if a.count("/search/nosuchindex")+b.count("/search/nosuchindex") != 0 {
		t.Error("an unknown index was searched on the shards")
	}
	before := a.total.Load() + b.total.Load()
	if _, err := e.Search(context.Background(), Request{Index: "bad/index"}); !errors.As(err, &se) || se.Kind != fault.BadRequest {
		t.Fatalf("invalid index: got %v, want 400", err)
	}
	if a.total.Load()+b.total.Load() != before {
		t.Error("an invalid index reached a shard")
	}
	// A bag on one shard only: the other's 404 is "no rows there".
	res, err := e.Search(context.Background(), Request{Index: "users"})
	if err != nil || len(res.Rows) != 1 || res.Shards.Failed != 0 {
		t.Fatalf("bag on one shard: %v %+v", err, res)
	}
}

// Identical concurrent searches share one fan-out.
func TestIdenticalSearchesShareFanOut(t *testing.T) {
	release := make(chan struct{})
	a := newFakeShard(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		chefLike(false)(w, r)
	})
	e := engineFor(t, 5*time.Second, a.URL)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Search(context.Background(), Request{Index: "node", Query: "name:web-1"}); err != nil {
				t.Error(err)
			}
		}()
	}
	waitfor.Until(t, "one search at the shard and 20 callers sharing it", func() bool { return a.open.Load() == 1 && e.shared.Waiters("") == 20 })
	close(release)
	wg.Wait()
	if n := a.count("/search/node"); n > 2 { // the query, then the owners pass
		t.Errorf("20 identical searches sent %d searches to the shard", n)
	}
}
