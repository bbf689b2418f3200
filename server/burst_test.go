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
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/internal/waitfor"
	"github.com/shearch/shearch/search"
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
	integration.Needs(t, "goiardi")
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
	p.engine = search.MustNew(search.Config{DefaultStack: "prod", Timeout: timeout, CheckQueries: true}, search.Deps{Topology: list, Log: quiet, Guards: shards.NewGuards(gc, quiet)})
	p.srv = httptest.NewServer(server.New(engine.Over(p.engine), quiet))
	t.Cleanup(p.srv.Close)
	return p
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
	waitfor.Until(t, `p.open() == 3`, func() bool { return p.open() == 3 })
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

// A shard that answers after 4 s, with shards.timeout 2s: the answer
// comes once its 2 s of shard time are spent, names it as timed out, and
// holds the other shards' rows.
func TestSlowShardTimesOutOnItsOwnTime(t *testing.T) {
	c := startBurstCluster(t)
	p := proxiedOver(t, c, 0, 2*time.Second, shards.GuardConfig{})
	p.proxies[1].Latency = 4 * time.Second
	begin := time.Now()
	res, err := http.Get(searchURL(p.srv.URL, "name:web-03*"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(begin)
	errs := res.Header.Get("X-Shearch-Errors")
	if res.StatusCode != 200 || !strings.Contains(errs, "chef-2") || !strings.Contains(errs, "timed out after 2s (shards.timeout)") {
		t.Errorf("HTTP %d, X-Shearch-Errors %q: want a 200 naming chef-2 timed out after 2s\n%.300s", res.StatusCode, errs, body)
	}
	// 2 s of shard time, then the answer: well before the shard's 4 s.
	if took < 2*time.Second || took > 3500*time.Millisecond {
		t.Errorf("answered in %s, want 2 s plus a margin", took.Round(time.Millisecond))
	}
}
