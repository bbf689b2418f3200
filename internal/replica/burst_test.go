package replica_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
)

type outcome struct {
	status     int
	retryAfter string
	err        error
}

// burst sends clients concurrent searches over queries distinct queries
// to base, all released at once, and returns each outcome.
func burst(base string, clients, queries int) []outcome {
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	out := make([]outcome, clients)
	var wg sync.WaitGroup
	gun := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			<-gun
			q := fmt.Sprintf("role:web OR name:absent%d", i%queries)
			res, err := hc.Get(base + "/v1/search/node?rows=10&q=" + url.QueryEscape(q))
			if err != nil {
				out[i].err = err
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			out[i] = outcome{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), err: err}
		})
	}
	close(gun)
	wg.Wait()
	return out
}

// check fails on anything but a complete 200 or a 429/503 with Retry-After.
func check(t *testing.T, what string, out []outcome) map[int]int {
	t.Helper()
	counts := map[int]int{}
	bad := 0
	for i, o := range out {
		counts[o.status]++
		ok := o.err == nil && (o.status == 200 || ((o.status == 429 || o.status == 503) && o.retryAfter != ""))
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("%s: client %d: HTTP %d (Retry-After %q) %v", what, i, o.status, o.retryAfter, o.err)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d clients in all without a complete 200 or a 429/503 with Retry-After", what, bad)
	}
	return counts
}

// most is what the proxies saw: the most requests open at once at each,
// and at the shards behind them (forwarded), with the top of each.
type peak struct {
	open, forwarded       []int64
	topOpen, topForwarded int64
}

func most(proxies []*devfleet.CountingProxy) peak {
	var p peak
	for _, cp := range proxies {
		p.open = append(p.open, cp.Most())
		p.forwarded = append(p.forwarded, cp.ForwardedMost())
		p.topOpen, p.topForwarded = max(p.topOpen, cp.Most()), max(p.topForwarded, cp.ForwardedMost())
	}
	return p
}

func resetMost(proxies []*devfleet.CountingProxy) {
	for _, p := range proxies {
		p.ResetMost()
	}
}

// Acceptance 1 and 2: two replicas behind HAProxy share
// shards.max_in_flight 4; 2,000 concurrent requests over 50 queries never
// put more than 4 at once on a shard, summed over both. One replica killed:
// within 10 s the survivor's share is the whole bound, and a burst reaches
// 4 in flight at a shard where it reached 2 before.
func TestBurstAcrossReplicasAndOneLeaves(t *testing.T) {
	const limit = 4
	e := getEnv(t)
	var proxies []*devfleet.CountingProxy
	var urls []string
	for _, g := range e.dev.Cluster.Shards {
		p, err := devfleet.StartCountingProxy(g.URL, 150*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		proxies = append(proxies, p)
		urls = append(urls, p.URL)
	}
	procs, h := e.startReplicas(t, 2, replicaOpts{service: "shearch-burst", maxInFlight: limit, shardURLs: urls})
	for _, p := range procs {
		v := waitReplicas(t, p, 2, 10*time.Second)
		t.Logf("replica %s: share %d of %d slots, %d of the queue, %d replicas", p.Addr, v.Slots, v.MaxInFlight, v.Waiting, v.Replicas)
		if v.Slots != limit/2 {
			t.Errorf("replica %s: %d slots with 2 replicas, want %d", p.Addr, v.Slots, limit/2)
		}
	}

	resetMost(proxies)
	begin := time.Now()
	counts := check(t, "burst through HAProxy", burst(h.URL, 2000, 50))
	if counts[502]+counts[503]+counts[504] > 0 {
		t.Logf("HAProxy's 5xx lines:\n%s", grep(h.Log(), " 502 ", " 503 ", " 504 "))
	}
	pk := most(proxies)
	t.Logf("2,000 clients through HAProxy in %s: statuses %v; most in flight per shard %v at the shards, %v at their proxies (bound %d over both replicas)",
		time.Since(begin).Round(time.Millisecond), counts, pk.forwarded, pk.open, limit)
	if pk.topOpen > limit {
		// Shed requests cancel their siblings; see ForwardedMost.
		t.Logf("NOTE: a proxy counted %d at once, cancelled requests it had not yet seen close included", pk.topOpen)
	}
	if pk.topForwarded > limit {
		t.Errorf("a shard saw %d requests at once, over shards.max_in_flight %d summed over the replicas", pk.topForwarded, limit)
	}
	if counts[200] == 0 {
		t.Errorf("no client got a 200: %v", counts)
	}

	// One replica alone, before: its share is 2.
	resetMost(proxies)
	check(t, "burst at one replica", burst(procs[0].URL, 200, 50))
	before := most(proxies)

	if err := procs[1].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	v := waitReplicas(t, procs[0], 1, 10*time.Second)
	took := time.Since(killed)
	if v.Slots != limit {
		t.Fatalf("the survivor sees 1 replica but has %d slots, want the whole %d", v.Slots, limit)
	}
	resetMost(proxies)
	counts = check(t, "burst through HAProxy after the kill", burst(h.URL, 300, 50))
	after := most(proxies)
	t.Logf("SIGKILL: survivor's share 2 -> %d after %s; most in flight per shard from it alone: %v before, %v after at the shards (%v, %v at their proxies; statuses after %v)",
		v.Slots, took.Round(10*time.Millisecond), before.forwarded, after.forwarded, before.open, after.open, counts)
	// Reached: the proxies' count, which cannot miss a request; held: the
	// shards', which a cancelled request cannot inflate.
	if before.topOpen < limit/2 || before.topForwarded > limit/2 || after.topOpen < limit || after.topForwarded > limit {
		t.Errorf("most in flight at a shard from the survivor: before the kill %d (want %d), after %d (want %d)",
			before.topForwarded, limit/2, after.topForwarded, limit)
	}
}
