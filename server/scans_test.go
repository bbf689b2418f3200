package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/drift"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

func shardRequests() int64 {
	var n int64
	for _, s := range big.shards {
		n += s.Stats().Requests
	}
	return n
}

// consistencyGet asks for the drift report with a token.
func consistencyGet(t *testing.T, base, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", base, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// The drift scan reads every shared object of every shard. Concurrent
// scans of a stack are one scan; a report is served again for
// consistency.cache_ttl; and each caller may start at most
// consistency.caller_scans scans per consistency.caller_window (repair
// plans included), so a reader cannot push others into 429s by scanning
// on every call.
func TestConsistencyScansSharedCachedAndBudgeted(t *testing.T) {
	bigFleet(t)
	serve := func(ttl time.Duration, limits server.ScanLimits) string {
		e := engine.New(search.MustNew(search.Config{DefaultStack: "prod", Timeout: 30 * time.Second, CheckQueries: true}, search.Deps{Topology: search.StaticShards(bigFleet(t))}),
			engine.Config{Drift: drift.Config{ReportTTL: ttl}})
		s := server.New(e, nil)
		s.Auth = tokenAuth(t, "alice-token\nbob-token\nwriter-token write\n")
		s.Scans = limits
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		return srv.URL
	}

	// What one scan asks of the shards.
	base := serve(0, server.ScanLimits{PerCaller: 100})
	before := shardRequests()
	if status, body, _ := consistencyGet(t, base+"/v1/consistency", "alice-token"); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	one := shardRequests() - before
	if one < 4 {
		t.Fatalf("one scan sent %d requests", one)
	}

	// Eight callers at once, then eight more within the TTL: one scan.
	base = serve(time.Minute, server.ScanLimits{PerCaller: 100})
	before = shardRequests()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body, _ := consistencyGet(t, base+"/v1/consistency", "alice-token"); status != http.StatusOK {
				t.Errorf("%d %s", status, body)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 8; i++ {
		consistencyGet(t, base+"/v1/consistency?stack=prod", "bob-token")
	}
	got := shardRequests() - before
	t.Logf("one scan: %d shard requests; 16 reports (8 at once, 8 within the TTL): %d", one, got)
	if got != one {
		t.Fatalf("16 reports sent %d shard requests, one scan sends %d", got, one)
	}
	// A write to every shard of the stack (the fake shards refuse it, which
	// matters not) leaves no report from before it to be served again.
	req, _ := http.NewRequest("PUT", base+"/roles/web", strings.NewReader(`{"name":"web","json_class":"Chef::Role","chef_type":"role"}`))
	req.Header.Set("Authorization", "Bearer writer-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	before = shardRequests()
	consistencyGet(t, base+"/v1/consistency", "alice-token")
	if got := shardRequests() - before; got != one {
		t.Fatalf("the report after a role write sent %d shard requests, want a fresh scan's %d", got, one)
	}

	// No cache: alice may start 2 scans a minute; the third, or a repair
	// plan, is a 429 naming the key with Retry-After; bob is not held up.
	base = serve(0, server.ScanLimits{PerCaller: 2, Window: time.Minute})
	for i := 0; i < 2; i++ {
		if status, body, _ := consistencyGet(t, base+"/v1/consistency", "alice-token"); status != http.StatusOK {
			t.Fatalf("scan %d: %d %s", i+1, status, body)
		}
	}
	for _, path := range []string{"/v1/consistency", "/v1/consistency/repair"} {
		status, body, h := consistencyGet(t, base+path, "alice-token")
		if status != http.StatusTooManyRequests || !strings.Contains(body, "consistency.caller_scans") || h.Get("Retry-After") == "" {
			t.Fatalf("alice's third scan (%s): %d %s (Retry-After %q)", path, status, body, h.Get("Retry-After"))
		}
	}
	if status, body, _ := consistencyGet(t, base+"/v1/consistency/repair", "bob-token"); status != http.StatusOK {
		t.Fatalf("bob's plan: %d %s", status, body)
	}
}
