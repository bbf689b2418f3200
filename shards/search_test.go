package shards_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/shards"
)

var (
	keyOnce sync.Once
	keyPEM  string
)

func testKey(t testing.TB) string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	})
	return keyPEM
}

// fakeShard serves a Chef organization at /organizations/acme with h, and
// counts requests.
func fakeShard(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) (*shards.Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if !strings.HasPrefix(r.URL.Path, "/organizations/acme/") {
			t.Errorf("shard asked for %s", r.URL)
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := shards.NewClientWithKey(shards.Shard{Name: "chef-2", URL: srv.URL + "/organizations/acme", ClientName: "admin", Timeout: 10 * time.Second}, testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

func page(w http.ResponseWriter, names ...string) {
	rows := make([]map[string]any, len(names))
	for i, n := range names {
		rows[i] = map[string]any{"name": n}
	}
	json.NewEncoder(w).Encode(map[string]any{"total": len(rows), "rows": rows})
}

func startOf(r *http.Request) int { n, _ := strconv.Atoi(r.URL.Query().Get("start")); return n }
func rowsOf(r *http.Request) int  { n, _ := strconv.Atoi(r.URL.Query().Get("rows")); return n }

// A shard whose pages cannot be trusted ends the request with a named
// error after a bounded number of requests; it is never retried in a loop.
func TestSearchRefusesBadPages(t *testing.T) {
	cases := []struct {
		name    string
		h       func(w http.ResponseWriter, r *http.Request)
		want    string
		maxReqs int64
	}{
		{"row repeated within a page", func(w http.ResponseWriter, r *http.Request) { page(w, "a", "b", "a") },
			`holds "a" twice`, 1},
		{"row without a name", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"rows": []any{map[string]any{"name": "a"}, map[string]any{"x": 1}}})
		}, "row 1 of the page at start=0 has no name", 1},
		// Ignores start: every page is the first one, whatever its size.
		{"pages that keep overlapping", func(w http.ResponseWriter, r *http.Request) {
			names := make([]string, rowsOf(r))
			for i := range names {
				names[i] = fmt.Sprint("n", i%3)
			}
			if len(names) > 3 {
				names = names[:3]
				names = append(names, "n0")
			}
			page(w, names...)
		}, "twice", 3},
		// Full pages of new rows forever: the answer bound stops it.
		{"endless pages", func(w http.ResponseWriter, r *http.Request) {
			page(w, fmt.Sprint("a", startOf(r)), fmt.Sprint("b", startOf(r)))
		}, "answer larger than 4 KiB (shards.max_answer_bytes)", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, n := fakeShard(t, tc.h)
			c.PageSize = 2
			c.MaxAnswerBytes = 4 << 10
			rows, err := c.Search(context.Background(), "node", "*:*", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "shard chef-2: ") {
				t.Fatalf("got %d rows, err %v; want %q", len(rows), err, tc.want)
			}
			if n.Load() > tc.maxReqs {
				t.Fatalf("%d requests to the shard, want at most %d", n.Load(), tc.maxReqs)
			}
		})
	}
}

// Pages that overlap once (goiardi's order changes between requests) are
// asked again as one big page, once.
func TestSearchRetriesOverlapOnceAsOnePage(t *testing.T) {
	c, n := fakeShard(t, func(w http.ResponseWriter, r *http.Request) {
		all := []string{"a", "b", "c", "d", "e"}
		if rowsOf(r) >= len(all) {
			page(w, all...)
			return
		}
		page(w, all[:2]...) // ignores start
	})
	c.PageSize = 2
	rows, err := c.Search(context.Background(), "node", "*:*", nil)
	if err != nil || len(rows) != 5 || n.Load() != 3 {
		t.Fatalf("%d rows, %d requests, err %v", len(rows), n.Load(), err)
	}
}

// A shard answering 1 GiB is a named failure once the bound is read, and
// Shearch's memory stays near the bound: the answer is streamed from a
// fixed buffer, never allocated.
func TestAnswerBoundedWhileStreaming(t *testing.T) {
	chunk := []byte(strings.Repeat(`{"name":"x"},`, 5000))
	var sent atomic.Int64
	c, _ := fakeShard(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"rows":[`))
		for sent.Load() < 1<<30 {
			k, err := w.Write(chunk)
			sent.Add(int64(k))
			if err != nil {
				return
			}
		}
	})
	c.MaxAnswerBytes = 8 << 20
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	began := time.Now()
	_, err := c.Search(context.Background(), "node", "*:*", nil)
	took := time.Since(began)
	runtime.ReadMemStats(&after)
	var tooLarge *shards.AnswerTooLargeError
	if !errors.As(err, &tooLarge) || err.Error() != "shard chef-2: answer larger than 8 MiB (shards.max_answer_bytes)" {
		t.Fatalf("err %v", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("1 GiB answer refused after %v; shard wrote %d MiB; TotalAlloc delta %d MiB, HeapInuse %d MiB", took,
		sent.Load()>>20, alloc>>20, after.HeapInuse>>20)
	if alloc > 64<<20 {
		t.Fatalf("allocated %d MiB reading an answer bounded at 8 MiB", alloc>>20)
	}
	if sent.Load() >= 1<<30 {
		t.Fatal("the whole 1 GiB was read")
	}
}

// An answer announcing its length over the bound is refused unread.
func TestAnswerRefusedByContentLength(t *testing.T) {
	c, _ := fakeShard(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		w.WriteHeader(http.StatusOK)
	})
	c.MaxAnswerBytes = 1 << 20
	var v any
	err := c.GetJSON(context.Background(), shards.CollectionPath(shards.Nodes), &v)
	if err == nil || !strings.Contains(err.Error(), "answer larger than 1 MiB") {
		t.Fatalf("err %v", err)
	}
	if err := c.GetJSON(context.Background(), shards.Path{}, &v); err == nil || !strings.Contains(err.Error(), "without a checked path") {
		t.Fatalf("zero path: %v", err)
	}
}

// BenchmarkSearch is one shard's Search over HTTP, as the engine's first
// fan-out asks it (5,000 rows in pages of 1,000, and a short answer):
// decoding, the page checks and the result slice.
func BenchmarkSearch(b *testing.B) {
	partialRow := func(i int) string {
		name := fmt.Sprintf("node-%05d.prod.example.com", i)
		return fmt.Sprintf(`{"url":"http://s/organizations/acme/nodes/%s","data":{"__shearch_name":%q,"__shearch_ohai_time":1794484758.%03d,"ipaddress":"10.0.%d.%d","name":%q}}`,
			name, name, i%1000, i>>8&255, i&255, name)
	}
	for _, tc := range []struct {
		name    string
		total   int
		partial map[string][]string
		row     func(i int) string
	}{
		{"partial-5000", 5000, map[string][]string{"name": {"name"}, "ipaddress": {"ipaddress"}}, partialRow},
		// A typical query's answer: one short page.
		{"partial-20", 20, map[string][]string{"name": {"name"}, "ipaddress": {"ipaddress"}}, partialRow},
	} {
		b.Run(tc.name, func(b *testing.B) {
			total := tc.total
			rows := make([]string, total)
			for i := range rows {
				rows[i] = tc.row(i)
			}
			// Pages are encoded once, so B/op is mostly the client's.
			var mu sync.Mutex
			pages := map[[2]int][]byte{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start, n := startOf(r), rowsOf(r)
				mu.Lock()
				p, ok := pages[[2]int{start, n}]
				if !ok {
					end := min(total, start+n)
					p = fmt.Appendf(nil, `{"total":%d,"start":%d,"rows":[%s]}`, total, start, strings.Join(rows[min(start, end):end], ","))
					pages[[2]int{start, n}] = p
				}
				mu.Unlock()
				w.Write(p)
			}))
			defer srv.Close()
			c, err := shards.NewClientWithKey(shards.Shard{Name: "chef-1", URL: srv.URL + "/organizations/acme", ClientName: "admin"}, testKey(b))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				got, err := c.Search(context.Background(), "node", "*:*", tc.partial)
				if err != nil || len(got) != total {
					b.Fatalf("%d rows, %v", len(got), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*total), "ns/row")
		})
	}
}
