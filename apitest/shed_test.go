package apitest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// schedSlack is how far the waits seen on the wire may stray from the
// client's timers on a busy machine.
const schedSlack = 250 * time.Millisecond

// attempt is one try of a request, as the wire saw it.
type attempt struct {
	sent, answered time.Time
	status         int
	retryAfter     time.Duration
}

// recorder is a transport that notes every attempt by request id.
type recorder struct {
	mu       sync.Mutex
	attempts map[string][]attempt
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	a := attempt{sent: time.Now()}
	res, err := http.DefaultTransport.RoundTrip(req)
	a.answered = time.Now()
	if err == nil {
		a.status = res.StatusCode
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
			a.retryAfter = time.Duration(s) * time.Second
		}
	}
	r.mu.Lock()
	r.attempts[req.Header.Get("X-Request-Id")] = append(r.attempts[req.Header.Get("X-Request-Id")], a)
	r.mu.Unlock()
	return res, err
}

// Acceptance: against a Shearch that sheds (max_in_flight 1, max_waiting
// 1 per shard), 100 concurrent distinct searches from clients with
// MaxRetries 3 and a 60 s deadline all get a 200. No retry comes sooner
// than the Retry-After it answers, each wait is at least twice the one
// before, and the herd's first retries are spread over more than half a
// second rather than arriving together.
func TestShedHerdRetries(t *testing.T) {
	l := live.get(t)
	e := engineOver(l.cluster.ShardList(), shards.GuardConfig{MaxInFlight: 1, MaxWaiting: 1})
	srv := httptest.NewServer(server.New(e, quiet()))
	defer srv.Close()
	rec := &recorder{attempts: map[string][]attempt{}}
	c, err := api.NewClient(&api.Config{Addresses: []string{srv.URL}, MaxRetries: 3, Logger: quiet(),
		HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	const herd = 100
	errs := make([]error, herd)
	var wg sync.WaitGroup
	for i := range herd {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			_, errs[i] = c.Search(ctx, "node", fmt.Sprintf("role:web OR name:absent%d", i), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("search %d: %v", i, err)
		}
	}
	shed, retried := 0, 0
	var firstRetries []time.Time
	for id, as := range rec.attempts {
		for i := 1; i < len(as); i++ {
			retried++
			prev := as[i-1]
			wait := as[i].sent.Sub(prev.answered)
			if prev.status != http.StatusTooManyRequests && prev.status != http.StatusServiceUnavailable {
				t.Errorf("request %s: attempt %d after a %d", id, i+1, prev.status)
			}
			if prev.retryAfter == 0 || wait < prev.retryAfter {
				t.Errorf("request %s: retried %v after a %d with Retry-After %v", id, wait, prev.status, prev.retryAfter)
			}
			if i >= 2 {
				// The wire's waits include the scheduling of a loaded
				// machine around the client's timers: slack for that.
				if before := as[i-1].sent.Sub(as[i-2].answered); wait < 2*before-schedSlack {
					t.Errorf("request %s: wait %v after a wait of %v: backoff did not double", id, wait, before)
				}
			}
		}
		if len(as) > 1 {
			shed++
			firstRetries = append(firstRetries, as[1].sent)
		}
	}
	if shed == 0 {
		t.Fatal("nothing was shed: the test did not load Shearch")
	}
	sort.Slice(firstRetries, func(i, j int) bool { return firstRetries[i].Before(firstRetries[j]) })
	spread := firstRetries[len(firstRetries)-1].Sub(firstRetries[0])
	t.Logf("%d of %d searches shed at least once, %d retries; first retries spread over %v", shed, herd, retried, spread)
	if shed > 10 && spread < 500*time.Millisecond {
		t.Errorf("the first retries of %d shed searches arrived within %v: no jitter", shed, spread)
	}
}
