package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/search/result"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// The memory bounds of issue 20 are measured on 10,000 synthetic nodes
// of about 10 KB (100 MB of objects) on two fast shards, made once per
// test binary. The shards refuse any query naming chef_environment, as
// goiardi refuses parts of Chef Server's grammar, so such a query is
// evaluated by Shearch itself.
const bigNodes = 10000

var big struct {
	once   sync.Once
	list   []shards.Shard
	err    error
	dir    string
	shards []*fakeshard.Shard
}

// closeBig stops the big fleet, from TestMain.
func closeBig() {
	for _, s := range big.shards {
		s.Close()
	}
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
}

func bigFleet(t *testing.T) []shards.Shard {
	t.Helper()
	big.once.Do(func() {
		dir, err := os.MkdirTemp("", "shearch-bounds-")
		if err != nil {
			big.err = err
			return
		}
		big.dir = dir
		key, err := fakeshard.WriteKey(dir)
		if err != nil {
			big.err = err
			return
		}
		refuse := func(q string) bool { return strings.Contains(q, "chef_environment") }
		fleet, err := fakeshard.Fleet(bigNodes, 2, 20, fakeshard.Options{Refuse: refuse})
		if err != nil {
			big.err = err
			return
		}
		for i, s := range fleet {
			s.Start() // for the test binary's life: see closeBig
			big.shards = append(big.shards, s)
			big.list = append(big.list, s.Config(fmt.Sprintf("fast%d", i+1), "prod", key))
		}
	})
	if big.err != nil {
		t.Fatal(big.err)
	}
	return big.list
}

// bigServer serves Shearch over the big fleet; configure adjusts the
// engine first.
func bigServer(t *testing.T, configure func(*search.Config)) (string, *search.Engine) {
	t.Helper()
	return bigServerWith(t, configure, nil)
}

// bigServerWith is bigServer with the server's own settings too.
func bigServerWith(t *testing.T, configure func(*search.Config), configureServer func(*server.Server)) (string, *search.Engine) {
	t.Helper()
	cfg := search.Config{DefaultStack: "prod", Timeout: 30 * time.Second, CheckQueries: true}
	if configure != nil {
		configure(&cfg)
	}
	e := search.MustNew(cfg, search.Deps{Topology: search.StaticShards(bigFleet(t))})
	s := server.New(engine.Over(e), nil)
	if configureServer != nil {
		configureServer(s)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL, e
}

// peakHeap runs f and returns how far the live heap (as of each
// collection, which runs often while it measures) rose above where it was
// before: what f held, not garbage awaiting a cycle. Sampled every
// millisecond.
func peakHeap(f func()) int64 {
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	live := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	// Twice: what sync.Pools hold (encoding/json's buffers) survives one.
	runtime.GC()
	runtime.GC()
	base := live()
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if d := live() - base; d > peak.Load() {
				peak.Store(d)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	// The last collection may predate f's end: one more sees its tail.
	runtime.GC()
	if d := live() - base; d > peak.Load() {
		peak.Store(d)
	}
	return peak.Load()
}

// get sends a GET and reads the answer without holding it: its status,
// its length and the first KiB.
func get(t *testing.T, u string, accept string) (int, int64, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	head, _ := br.Peek(1024)
	first := string(head)
	n, _ := io.Copy(io.Discard, br)
	return res.StatusCode, n, first
}

const mib = 1 << 20

// rows has an upper bound: a page of the whole fleet (rows=100000000) is
// a 413 naming search.max_rows and what to do, before any object is read,
// on the Chef and the native endpoints; knife's 1,000-row walk still
// works. A page past search.max_page_bytes is a 413 naming it, and the
// objects read for it stop there.
func TestPageBounds(t *testing.T) {
	integration.Needs(t, "the time to stream 10,000 whole nodes (about 20 s of CPU)")
	base, _ := bigServer(t, nil)
	for _, path := range []string{"/search/node", "/organizations/acme/search/node", "/v1/search/node"} {
		var status int
		var first string
		peak := peakHeap(func() { status, _, first = get(t, base+path+"?q=*:*&rows=100000000", "") })
		t.Logf("%s rows=100000000: %d, heap peak +%d MiB", path, status, peak/mib)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(first, "search.max_rows (10000)") ||
			!strings.Contains(first, "application/x-ndjson") {
			t.Errorf("%s rows=100000000: %d %s", path, status, first)
		}
		if peak > 48*mib {
			t.Errorf("%s rows=100000000: the heap rose %d MiB for a refused page", path, peak/mib)
		}
	}

	// 10,000 whole nodes (100 MB) is within max_rows but not within a
	// 16 MiB max_page_bytes.
	base, _ = bigServer(t, func(e *search.Config) { e.MaxPageBytes = 16 * mib })
	for _, path := range []string{"/search/node", "/v1/search/node"} {
		var status int
		var first string
		peak := peakHeap(func() { status, _, first = get(t, base+path+"?q=*:*&rows=10000", "") })
		t.Logf("%s rows=10000 over a 16 MiB max_page_bytes: %d, heap peak +%d MiB", path, status, peak/mib)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(first, "search.max_page_bytes (16 MiB)") {
			t.Errorf("%s rows=10000: %d %s", path, status, first)
		}
		if peak > 64*mib {
			t.Errorf("%s rows=10000: the heap rose %d MiB with a 16 MiB page bound", path, peak/mib)
		}
	}

	// knife's walk: 1,000 whole nodes a page, every page 200, under the
	// defaults; and a 10,000-row page of partial rows fits.
	base, _ = bigServer(t, nil)
	var pages int
	var bytes int64
	peak := peakHeap(func() {
		for start := 0; start < bigNodes; start += 1000 {
			status, n, first := get(t, fmt.Sprintf("%s/search/node?q=*:*&start=%d&rows=1000", base, start), "")
			if status != http.StatusOK {
				t.Fatalf("walk page at %d: %d %s", start, status, first)
			}
			pages++
			bytes += n
		}
	})
	t.Logf("knife walk: %d pages of 1,000 nodes, %d MiB, heap peak +%d MiB", pages, bytes>>20, peak/mib)
	if bytes < 50*mib {
		t.Errorf("the walk read %d bytes: not whole nodes", bytes)
	}
	res, err := http.Post(base+"/v1/search/node?q=*:*&rows=10000", "application/json", strings.NewReader(`{"ip":["ipaddress"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var page search.Result
	err = json.NewDecoder(res.Body).Decode(&page)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(page.Rows) != bigNodes {
		t.Fatalf("10,000 partial rows: %d, %d rows, %v", res.StatusCode, len(page.Rows), err)
	}
}

// A query every shard refuses is evaluated by Shearch: its matches go
// through the sorter (names only for whole nodes), not into memory.
// Before, every match of the fleet was held at once.
func TestLocalEvaluationBounded(t *testing.T) {
	integration.Needs(t, "the time to stream 10,000 whole nodes (about 20 s of CPU)")
	base, e := bigServer(t, func(e *search.Config) { e.SortBytes = 1 * mib })
	q := url.QueryEscape("chef_environment:prod OR chef_environment:dev OR chef_environment:staging")
	var status int
	var n int64
	var first string
	peak := peakHeap(func() { status, n, first = get(t, base+"/v1/search/node?q="+q, "application/x-ndjson") })
	t.Logf("local evaluation of %d whole nodes, streamed: %d, %d MiB, heap peak +%d MiB, spilled %d KiB", bigNodes, status, n>>20, peak/mib, e.SpilledBytes()>>10)
	if status != http.StatusOK || n < 50*mib || !strings.Contains(first, `"automatic"`) {
		t.Fatalf("%d, %d bytes: %.200s", status, n, first)
	}
	if peak > 64*mib {
		t.Errorf("local evaluation's heap rose %d MiB: its matches were held", peak/mib)
	}
	if e.SpillInUse() != 0 {
		t.Errorf("%d bytes of the spill budget still held after the stream", e.SpillInUse())
	}
	// A page of it is read as any page is: names, then the page's objects.
	res, err := http.Get(base + "/search/node?rows=5&q=" + q)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Total int              `json:"total"`
		Rows  []map[string]any `json:"rows"`
	}
	err = json.NewDecoder(res.Body).Decode(&page)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || page.Total != bigNodes || len(page.Rows) != 5 || page.Rows[4]["automatic"] == nil {
		t.Fatalf("a page of a local evaluation: %d, total %d, %d rows, %v", res.StatusCode, page.Total, len(page.Rows), err)
	}
}

// Facet values are bounded in bytes per request (search.max_facet_bytes);
// an object counts by its digest past 256 bytes. Before, an object
// attribute (network: about 700 bytes, different on every node) kept each
// node's whole subtree as text, twice.
func TestFacetBounds(t *testing.T) {
	integration.Needs(t, "the time to stream 10,000 whole nodes (about 20 s of CPU)")
	base, _ := bigServer(t, nil)
	// The fake shards keep each partial answer they make: made now, they
	// are not counted as Shearch's.
	get(t, base+"/v1/facets/node?attr=network&attr=name", "")
	var status int
	var first string
	peak := peakHeap(func() { status, _, first = get(t, base+"/v1/facets/node?attr=network&attr=name", "") })
	t.Logf("facets of network and name over %d nodes: %d, heap peak +%d MiB", bigNodes, status, peak/mib)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, first)
	}
	if peak > 16*mib {
		t.Errorf("facets of network: the heap rose %d MiB", peak/mib)
	}
	res, err := http.Get(base + "/v1/facets/node?attr=network")
	if err != nil {
		t.Fatal(err)
	}
	var f result.Facets
	json.NewDecoder(res.Body).Decode(&f)
	res.Body.Close()
	network := f.Facets["network"]
	if network == nil || len(network.Values) != bigNodes {
		t.Fatalf("network: %d values, %+v", len(network.Values), network.Missing)
	}
	for v := range network.Values {
		if !strings.HasPrefix(v, "sha256:") || len(v) != len("sha256:")+16 {
			t.Fatalf("network counted as %.100q, not its digest", v)
		}
	}

	// 10,000 names do not fit 64 KiB: the rest count in other.
	base, _ = bigServerWith(t, nil, func(s *server.Server) { s.Facets.MaxBytes = 64 << 10 })
	res, err = http.Get(base + "/v1/facets/node?attr=name")
	if err != nil {
		t.Fatal(err)
	}
	f = result.Facets{}
	json.NewDecoder(res.Body).Decode(&f)
	res.Body.Close()
	names := f.Facets["name"]
	if names == nil || !names.Truncated || names.Other == 0 || len(names.Values)+names.Other != bigNodes || len(names.Values) > 64<<10/16 {
		t.Fatalf("names within 64 KiB: %d kept, other %d, truncated %v", len(names.Values), names.Other, names.Truncated)
	}
	kept := 0
	for _, sf := range f.ByShard {
		kept += len(sf.Facets["name"].Values)
	}
	t.Logf("64 KiB max_facet_bytes: %d names kept overall, %d by shard, %d counted in other", len(names.Values), kept, names.Other)
}

// search.spill_max_bytes bounds one request; search.spill_total_bytes
// bounds the sorted runs of all requests together: while one stream holds
// its runs, a second that would pass the total is a 503 naming the key,
// with Retry-After; once the first ends, its runs are given back.
func TestSpillTotalBudget(t *testing.T) {
	body := `{"name":["name"],"network":["network"]}`
	stream := func(base string) (int, string, http.Header) {
		req, _ := http.NewRequest("POST", base+"/v1/search/node", strings.NewReader(body))
		req.Header.Set("Accept", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b[:min(len(b), 400)]), res.Header
	}
	// What one stream spills, with 256 KiB of sort memory.
	base, e := bigServer(t, func(e *search.Config) { e.SortBytes = 256 << 10 })
	if status, first, _ := stream(base); status != http.StatusOK {
		t.Fatalf("%d %s", status, first)
	}
	one := e.SpilledBytes()
	if one < 2*mib {
		t.Fatalf("one stream spilled %d bytes: too little to test the budget", one)
	}

	base, e = bigServer(t, func(e *search.Config) { e.SortBytes, e.SpillTotalBytes = 256<<10, one*3/2 })
	held := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		first := true
		_, err := e.Stream(t.Context(), search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"name": {"name"}, "network": {"network"}}},
			nil, func(search.Row) error {
				if first {
					first = false
					close(held)
					<-release
				}
				return nil
			})
		if err != nil {
			t.Errorf("the first stream: %v", err)
		}
	}()
	<-held
	inUse := e.SpillInUse()
	status, first, h := stream(base)
	close(release)
	wg.Wait()
	t.Logf("one stream spills %d KiB; with %d KiB held by a first, a second against a %d KiB total: %d %s", one>>10, inUse>>10, one*3/2>>10, status, first)
	if status != http.StatusServiceUnavailable || !strings.Contains(first, "search.spill_total_bytes") || h.Get("Retry-After") == "" {
		t.Fatalf("a second stream past the total: %d %s (Retry-After %q)", status, first, h.Get("Retry-After"))
	}
	if e.SpillInUse() != 0 {
		t.Fatalf("%d bytes still held once both streams ended", e.SpillInUse())
	}
	if status, first, _ := stream(base); status != http.StatusOK {
		t.Fatalf("a stream once the first ended: %d %s", status, first)
	}
}
