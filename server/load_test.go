//go:build loadtest

package server_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/shards"
)

// TestLoad is the load test of `make bench` (build tag loadtest, so not in
// `make test`): 200 concurrent clients for 60 s against 3 goiardi shards
// behind counting proxies, one shard stopped and started every 10 s. It
// reports figures; it fails only on 5xx that Shearch caused itself.
func TestLoad(t *testing.T) {
	const clients = 200
	duration := 60 * time.Second
	if s, err := strconv.Atoi(os.Getenv("SHEARCH_LOAD_SECONDS")); err == nil && s > 0 {
		duration = time.Duration(s) * time.Second
	}
	startFleet(t) // the shards start before the goroutine count is taken
	shards.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	goroutinesBefore := runtime.NumGoroutine()

	p := startProxied(t, 0, shards.GuardConfig{})
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	// One shard goes down and comes back every 10 s, in turn.
	flapDone := make(chan struct{})
	go func() {
		defer close(flapDone)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cp := p.proxies[(i/2)%len(p.proxies)]
			if i%2 == 0 {
				cp.Down()
			} else if err := cp.Up(); err != nil {
				t.Error(err)
			}
		}
	}()

	var mu sync.Mutex
	statuses := map[int]int{}
	var latencies []time.Duration
	var transportErrs int
	firstBodies := map[int]string{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 1))
			for ctx.Err() == nil {
				q := fmt.Sprintf("role:web OR name:load%d", r.IntN(400))
				begin := time.Now()
				res, err := hc.Get(searchURL(p.srv.URL, q))
				took := time.Since(begin)
				mu.Lock()
				if err != nil {
					transportErrs++
				} else {
					statuses[res.StatusCode]++
					latencies = append(latencies, took)
					if res.StatusCode >= 500 && res.StatusCode != 503 && firstBodies[res.StatusCode] == "" {
						b, _ := io.ReadAll(res.Body)
						firstBodies[res.StatusCode] = string(b)
					}
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	<-flapDone
	for _, cp := range p.proxies {
		cp.Up()
	}
	hc.CloseIdleConnections()
	p.srv.Close()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(q float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(q*float64(len(latencies)-1))]
	}
	var served, shed, failed int
	for code, n := range statuses {
		switch {
		case code == 200:
			served += n
		case code == 429 || code == 503:
			shed += n
		default:
			failed += n
		}
	}
	// Let connections and timers wind down before counting goroutines.
	time.Sleep(2 * time.Second)
	shards.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	goroutinesAfter := runtime.NumGoroutine()
	t.Logf("load: %d clients for %s, one of 3 shards down 10 s in every 20 s", clients, duration)
	t.Logf("requests: %d served (200), %d shed (429/503), %d failed (other statuses %v), %d transport errors",
		served, shed, failed, statuses, transportErrs)
	t.Logf("latency: p50 %s, p99 %s over %d answers", pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), len(latencies))
	for i, cp := range p.proxies {
		t.Logf("shard chef-%d: most requests in flight %d (max_in_flight %d), %d requests", i+1, cp.Most(), shards.DefaultGuardConfig.MaxInFlight, cp.Total())
	}
	t.Logf("goroutines: %d before, %d after", goroutinesBefore, goroutinesAfter)
	for code, body := range firstBodies {
		t.Errorf("Shearch answered %d: %s", code, body)
	}
	if transportErrs > 0 {
		t.Errorf("%d requests got no answer", transportErrs)
	}
}
