package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/search/query"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// burstFleet is the fixture and 1,200 synthetic nodes on three goiardi
// shards, started once for the burst tests of this package.
var burstFleet struct {
	once    sync.Once
	cluster *devfleet.Cluster
	err     error
}

func startBurstCluster(t *testing.T) *devfleet.Cluster {
	t.Helper()
	burstFleet.once.Do(func() {
		fx, err := devfleet.ReadFixture("../testdata/fixture")
		if err != nil {
			burstFleet.err = err
			return
		}
		fx.Nodes = append(fx.Nodes, devfleet.Synthetic(1200, 19, time.Now().Unix()).Nodes...)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		burstFleet.cluster, burstFleet.err = devfleet.StartCluster(ctx, "chef", "prod", 3, fx)
	})
	if burstFleet.err != nil {
		t.Fatalf("starting the burst fleet: %v", burstFleet.err)
	}
	return burstFleet.cluster
}

// proxiedOver serves a fresh Shearch over counting proxies, each adding
// latency, in front of c's shards.
func proxiedOver(t *testing.T, c *devfleet.Cluster, latency, timeout time.Duration, gc shards.GuardConfig) *proxied {
	t.Helper()
	p := &proxied{}
	var list search.StaticShards
	for _, g := range c.Shards {
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
	p.engine = &search.Engine{Topology: list, DefaultStack: "prod", Timeout: timeout, Log: quiet,
		Guards:   shards.NewGuards(gc, quiet),
		Validate: func(q string) error { _, err := query.Parse(q); return err }}
	p.srv = httptest.NewServer(server.New(p.engine, quiet))
	t.Cleanup(p.srv.Close)
	return p
}

// burstQuery is one of the burst's distinct queries: an endpoint, a
// method and a query, whole objects or partial.
type burstQuery struct {
	path    string
	q       string
	partial bool
}

var burstRoles = []string{"web", "db", "cache", "lb", "worker", "monitoring"}

func burstQueries(n int) []burstQuery {
	out := make([]burstQuery, n)
	for i := range out {
		q := fmt.Sprintf("role:%s OR name:absent%d", burstRoles[i%len(burstRoles)], i)
		path := "/v1/search/node"
		if i%2 == 1 {
			path = "/search/node" // Chef's own endpoint
		}
		out[i] = burstQuery{path: path, q: q, partial: i%4 >= 2}
	}
	return out
}

var burstPartial = []byte(`{"name":["name"],"ip":["ipaddress"],"env":["chef_environment"]}`)

// send asks q of base and returns the status, Retry-After and the names
// of the rows, in the order they came.
func (b burstQuery) send(hc *http.Client, base string) (status int, retryAfter string, names []string, err error) {
	u := base + b.path + "?q=" + url.QueryEscape(b.q)
	var res *http.Response
	if b.partial {
		res, err = hc.Post(u, "application/json", bytes.NewReader(burstPartial))
	} else {
		res, err = hc.Get(u)
	}
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		return res.StatusCode, res.Header.Get("Retry-After"), []string{string(body)}, err
	}
	var doc struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return res.StatusCode, "", nil, fmt.Errorf("%s: %v", b.path, err)
	}
	for _, raw := range doc.Rows {
		var r struct {
			Name string          `json:"name"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return res.StatusCode, "", nil, err
		}
		if r.Name == "" && len(r.Data) > 0 { // Chef partial rows: {"url":..., "data":{...}}
			var d struct {
				Name string `json:"name"`
			}
			json.Unmarshal(r.Data, &d)
			r.Name = d.Name
		}
		names = append(names, r.Name)
	}
	return res.StatusCode, "", names, nil
}

// The burst of issue 19: 2,000 concurrent requests over 50 distinct
// queries, 40 copies of each, over /v1/search and Chef's /search, whole
// objects and partial; three shards behind proxies adding 150 ms;
// shards.max_in_flight 4, search.max_waiting 64, search.max_wait 15s,
// shards.timeout 10s. Every shard sees at most 4 at once; every answer is
// a 200 with every row the query gives alone, or a 429/503 with
// Retry-After; never a 502; and every query gets at least one 200.
func TestBurstAnswersAreCompleteOrShed(t *testing.T) {
	const distinct, copies, limit = 50, 40, 4
	c := startBurstCluster(t)
	queries := burstQueries(distinct)
	// What each query gives alone, through an unloaded Shearch.
	alone := proxiedOver(t, c, 0, 10*time.Second, shards.GuardConfig{})
	want := make([][]string, distinct)
	aloneBegin := time.Now()
	defer func() {
		t.Logf("the %d queries one by one, unloaded: %s, %d shard requests", distinct, time.Since(aloneBegin).Round(time.Millisecond), alone.shardRequests())
	}()
	for i, q := range queries {
		status, _, names, err := q.send(http.DefaultClient, alone.srv.URL)
		if err != nil || status != 200 || len(names) == 0 {
			t.Fatalf("query %d (%s %s) alone: HTTP %d, %d rows, %v", i, q.path, q.q, status, len(names), err)
		}
		want[i] = names
	}

	p := proxiedOver(t, c, 150*time.Millisecond, 10*time.Second,
		shards.GuardConfig{MaxInFlight: limit, MaxWaiting: 64, MaxWait: 15 * time.Second})
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: distinct * copies}}
	defer hc.CloseIdleConnections()
	type outcome struct {
		status     int
		retryAfter string
		names      []string
		err        error
	}
	out := make([]outcome, distinct*copies)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	begin := time.Now()
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			var o outcome
			o.status, o.retryAfter, o.names, o.err = queries[i%distinct].send(hc, p.srv.URL)
			out[i] = o
		}()
	}
	close(startGun)
	wg.Wait()
	took := time.Since(begin)

	counts := map[int]int{}
	reasons := map[string]int{}
	served := make([]int, distinct)
	for i, o := range out {
		q := i % distinct
		counts[o.status]++
		switch {
		case o.err != nil:
			t.Errorf("client %d: %v", i, o.err)
		case o.status == 200:
			served[q]++
			if !slices.Equal(o.names, want[q]) {
				t.Errorf("client %d (%s %s): a 200 with %d rows, where the query alone gives %d", i, queries[q].path, queries[q].q, len(o.names), len(want[q]))
			}
		case (o.status == 429 || o.status == 503) && o.retryAfter != "":
			if len(o.names) > 0 {
				reasons[o.names[0]]++
			}
		default:
			t.Errorf("client %d: HTTP %d (Retry-After %q)", i, o.status, o.retryAfter)
		}
	}
	for q, n := range served {
		if n == 0 {
			t.Errorf("query %d (%s %s): none of its %d copies got a 200", q, queries[q].path, queries[q].q, copies)
		}
	}
	most := make([]int64, len(p.proxies))
	for i, cp := range p.proxies {
		most[i] = cp.Most()
		if cp.Most() > limit {
			t.Errorf("a shard saw %d requests at once, over max_in_flight %d", cp.Most(), limit)
		}
	}
	t.Logf("burst: %d requests in %s, statuses %v; most in flight per shard %v; shard requests %d",
		len(out), took.Round(time.Millisecond), counts, most, p.shardRequests())
	for r, n := range reasons {
		t.Logf("shed %d times: %s", n, strings.TrimSpace(r))
	}
}

// Queue time is not shard time: with one slot per shard, 1.5 s per shard
// request and shards.timeout 4s, the fourth of four distinct queries
// waits 4.5 s for its slot. It must still get every shard's answer: the
// timeout starts when the request gets its slot.
func TestQueueTimeIsNotShardTime(t *testing.T) {
	c := startBurstCluster(t)
	p := proxiedOver(t, c, 1500*time.Millisecond, 4*time.Second, shards.GuardConfig{MaxInFlight: 1, MaxWait: 20 * time.Second})
	var wg sync.WaitGroup
	type outcome struct {
		status int
		errs   string
		body   string
	}
	out := make([]outcome, 4)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Partial: one shard request per shard and query.
			res, err := http.Post(p.srv.URL+"/v1/search/node?q="+url.QueryEscape(fmt.Sprintf("role:web OR name:queued%d", i)),
				"application/json", strings.NewReader(`{"n":["name"]}`))
			if err != nil {
				out[i].body = err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			out[i] = outcome{res.StatusCode, res.Header.Get("X-Shearch-Errors"), string(b)}
		}()
	}
	wg.Wait()
	for i, o := range out {
		if o.status != 200 || o.errs != "" {
			t.Errorf("query %d: HTTP %d, X-Shearch-Errors %q: want a whole 200 (queue time counted as shard time?)\n%.300s", i, o.status, o.errs, o.body)
		}
	}
}

// With a queue full of slow requests, a new request waits at most
// search.max_wait for a slot, then gets a 429 with Retry-After.
func TestFullQueueShedsAfterMaxWait(t *testing.T) {
	c := startBurstCluster(t)
	p := proxiedOver(t, c, 3*time.Second, 10*time.Second, shards.GuardConfig{MaxInFlight: 1, MaxWait: time.Second})
	slow := make(chan int, 1)
	go func() {
		res, err := http.Get(searchURL(p.srv.URL, "role:web OR name:slow"))
		if err != nil {
			slow <- 0
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		slow <- res.StatusCode
	}()
	waitUntil(t, func() bool { return p.open() == 3 })
	begin := time.Now()
	res, err := http.Get(searchURL(p.srv.URL, "role:web OR name:late"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(begin)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("behind a full queue: HTTP %d, Retry-After %q, want 429 with Retry-After\n%s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	// max_wait is 1s and the slow request holds the slots for 3s: an
	// answer after 2.5s waited past max_wait.
	if took > 2500*time.Millisecond {
		t.Errorf("behind a full queue the answer took %s, over search.max_wait (1s)", took.Round(time.Millisecond))
	}
	if s := <-slow; s != 200 {
		t.Errorf("the slow request itself: HTTP %d, want 200", s)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
