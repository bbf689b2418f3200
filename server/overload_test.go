package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// proxied puts a counting proxy with latency in front of every shard of
// the shared fleet and serves a fresh Shearch over the proxies.
type proxied struct {
	proxies []*devfleet.CountingProxy
	engine  *search.Engine
	srv     *httptest.Server
}

func startProxied(t *testing.T, latency time.Duration, gc shards.GuardConfig) *proxied {
	t.Helper()
	f := startFleet(t)
	p := &proxied{}
	var list search.StaticShards
	for _, g := range f.cluster.Shards {
		cp, err := devfleet.StartCountingProxy(g.URL, latency)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cp.Close)
		p.proxies = append(p.proxies, cp)
		s := g.Shard("prod")
		s.URL = cp.URL
		list = append(list, s)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p.engine = search.MustNew(search.Config{DefaultStack: "prod", Timeout: 10 * time.Second, CheckQueries: true}, search.Deps{Topology: list, Log: quiet, Guards: shards.NewGuards(gc, quiet)})
	p.srv = httptest.NewServer(server.New(engine.Over(p.engine), quiet))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxied) shardRequests() int64 {
	var n int64
	for _, cp := range p.proxies {
		n += cp.Total()
	}
	return n
}

func (p *proxied) open() int64 {
	var n int64
	for _, cp := range p.proxies {
		n += cp.Open()
	}
	return n
}

func distinctQuery(i int) string { return fmt.Sprintf("role:web OR name:absent%d", i) }

func searchURL(base, q string) string { return base + "/v1/search/node?q=" + url.QueryEscape(q) }

// Acceptance 1: 2,000 concurrent requests over 50 distinct queries, with
// shards.max_in_flight 4 and 150 ms per shard request. Every shard sees at
// most 4 requests at once, every client gets a 200 or a 429/503 with
// Retry-After within its deadline, and the shards get at most twice what
// the 50 queries cost one by one.
func TestBurstIsBoundedPerShard(t *testing.T) {
	const queries, clients, limit = 50, 2000, 4
	one := startProxied(t, 150*time.Millisecond, shards.GuardConfig{MaxInFlight: limit})
	for i := range queries {
		res, err := http.Get(searchURL(one.srv.URL, distinctQuery(i)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("query %d one by one: HTTP %d", i, res.StatusCode)
		}
	}
	oneByOne := one.shardRequests()

	p := startProxied(t, 150*time.Millisecond, shards.GuardConfig{MaxInFlight: limit})
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	type outcome struct {
		status     int
		retryAfter string
		err        error
	}
	out := make([]outcome, clients)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	begin := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			res, err := hc.Get(searchURL(p.srv.URL, distinctQuery(i%queries)))
			if err != nil {
				out[i].err = err
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			out[i] = outcome{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
		}()
	}
	close(startGun)
	wg.Wait()
	took := time.Since(begin)
	counts := map[int]int{}
	for i, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("client %d: %v", i, o.err)
		case o.status == 200:
		case (o.status == 429 || o.status == 503) && o.retryAfter != "":
		default:
			t.Errorf("client %d: HTTP %d (Retry-After %q)", i, o.status, o.retryAfter)
		}
		counts[o.status]++
	}
	for _, cp := range p.proxies {
		if cp.Most() > limit {
			t.Errorf("a shard saw %d requests at once, over max_in_flight %d", cp.Most(), limit)
		}
	}
	burst := p.shardRequests()
	t.Logf("burst: %d clients in %s, statuses %v; most in flight per shard %d/%d/%d; shard requests %d (one by one: %d)",
		clients, took.Round(time.Millisecond), counts, p.proxies[0].Most(), p.proxies[1].Most(), p.proxies[2].Most(), burst, oneByOne)
	if burst > 2*oneByOne {
		t.Errorf("the burst sent %d shard requests, over twice the %d of the queries one by one", burst, oneByOne)
	}
}

// Acceptance 2: 200 clients with distinct queries leave after 0.3 s.
// Within 3 s no shard request is open, and no shard request starts for a
// client after the server saw it leave.
func TestAbandonedRequestsStop(t *testing.T) {
	p := startProxied(t, 150*time.Millisecond, shards.GuardConfig{MaxInFlight: 4})
	var mu sync.Mutex
	ended := map[string]time.Time{}     // request id -> when the server saw it end
	started := map[string][]time.Time{} // request id -> shard request starts
	for _, cp := range p.proxies {
		cp.OnRequest = func(r *http.Request) {
			mu.Lock()
			id := r.Header.Get("X-Request-Id")
			started[id] = append(started[id], time.Now())
			mu.Unlock()
		}
	}
	inner := p.srv.Config.Handler
	p.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		done := make(chan struct{})
		go func() {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			mu.Lock()
			ended[id] = time.Now()
			mu.Unlock()
		}()
		inner.ServeHTTP(w, r)
		close(done)
	})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", searchURL(p.srv.URL, fmt.Sprintf("role:web OR name:gone%d", i)), nil)
			req.Header.Set("X-Request-Id", fmt.Sprintf("gone-%d", i))
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	left := time.Now()
	for p.open() > 0 {
		if time.Since(left) > 3*time.Second {
			t.Fatalf("%d shard requests still open 3s after the clients left", p.open())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("no shard request open %s after the clients left", time.Since(left).Round(time.Millisecond))
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
	var total, late int
	for id, starts := range started {
		if !strings.HasPrefix(id, "gone-") {
			t.Errorf("a shard request carried X-Request-Id %q, not the client's", id)
		}
		end, ok := ended[id]
		for _, s := range starts {
			total++
			// The proxy notes a request when its goroutine runs, which on
			// a loaded machine (two cores, many tests) can trail the send
			// by a few hundred ms; a queued request would trail by seconds.
			if !ok || s.After(end.Add(500*time.Millisecond)) {
				late++
				t.Errorf("shard request for %s started %s after the server saw the client leave", id, s.Sub(end))
			}
		}
	}
	t.Logf("%d shard requests in all for 200 abandoned queries, %d after their client left", total, late)
	// A client leaving is a 499 in the metrics, never a 500.
	m := metricsText(t, p.srv.URL)
	if !strings.Contains(m, `code="499"`) || strings.Contains(m, `code="500"`) {
		t.Errorf("abandoned requests in the metrics: want 499 and no 500:\n%s", grepLines(m, "shearch_http_requests_total"))
	}
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Acceptance 3 (fault): a node whose shard is down is a 502 naming that
// shard, never a 404 because the shards that answered lack it; a data
// bag search where the bag's shard is down likewise.
func TestDownShardGives502Not404(t *testing.T) {
	p := startProxied(t, 0, shards.GuardConfig{})
	f := startFleet(t)
	// Find the shard holding a node and a shard holding the users bag.
	holder := -1
	for i, g := range f.cluster.Shards {
		c, _ := g.Client()
		var node map[string]any
		if c.GetJSON(context.Background(), mustPath(t, shards.Nodes, "cache-01"), &node) == nil {
			holder = i
		}
	}
	if holder < 0 {
		t.Fatal("no shard holds cache-01")
	}
	p.proxies[holder].Down()
	defer p.proxies[holder].Up()
	name := f.cluster.Shards[holder].Name
	for _, path := range []string{"/nodes/cache-01", "/v1/nodes/cache-01"} {
		res, err := http.Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadGateway || !contains(string(body), name) {
			t.Errorf("GET %s with %s down: HTTP %d %s; want 502 naming %s", path, name, res.StatusCode, body, name)
		}
	}
	req, _ := http.NewRequest("GET", p.srv.URL+"/search/nosuchindex", nil)
	req.Header.Set("X-Request-Id", "fault-test-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		t.Errorf("an index no answering shard has, with %s down: 404; want 502", name)
	}
	if got := res.Header.Get("X-Request-Id"); got != "fault-test-1" {
		t.Errorf("X-Request-Id came back as %q", got)
	}
	m := metricsText(t, p.srv.URL)
	for _, want := range []string{`shearch_shard_requests_total{code="200",shard="chef-`, "shearch_shard_request_duration_seconds_bucket",
		"shearch_shard_in_flight{", "shearch_shard_queue_waiting{", "shearch_shard_breaker_open{", `shearch_http_requests_total{code="502"`,
		"shearch_http_request_duration_seconds_bucket", "shearch_requests_shed_total", "shearch_cache_hit_ratio", "go_goroutines", "process_open_fds"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(m, `shard="`+name+`"`) {
		t.Errorf("/metrics has no series for the down shard %s", name)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// One hanging shard with shards.timeout 2s: the answer comes once that
// timeout passes, not after a second one, naming the shard as timed out.
func TestHangingShardCostsOneTimeout(t *testing.T) {
	p := startProxied(t, 0, shards.GuardConfig{})
	p.engine.Timeout = 2 * time.Second
	p.proxies[1].Latency = time.Hour
	for _, path := range []string{"/v1/search/node?q=role:web", "/v1/search/node?q=role:web&rows=2", "/search/role?q=*:*"} {
		before := p.proxies[1].Total()
		begin := time.Now()
		res, err := http.Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(begin)
		t.Logf("%s with chef-2 hanging, shards.timeout 2s: HTTP %d in %s", path, res.StatusCode, took.Round(time.Millisecond))
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("X-Shearch-Errors"), "timed out") {
			t.Errorf("%s: HTTP %d, X-Shearch-Errors %q: want 200 naming chef-2 timed out\n%s", path, res.StatusCode, res.Header.Get("X-Shearch-Errors"), body)
		}
		if n := p.proxies[1].Total() - before; n != 1 {
			t.Errorf("%s: the hanging shard was asked %d times in one request, want once", path, n)
		}
	}
}

func mustPath(t *testing.T, kind shards.Kind, names ...string) shards.Path {
	t.Helper()
	p, err := shards.ObjectPath(kind, names...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
