package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// metrics counts requests by kind and status, in Prometheus text format.
// A handful of counters does not justify the client_golang dependency.
type metrics struct {
	mu       sync.Mutex
	requests map[string]uint64
}

func newMetrics() *metrics { return &metrics{requests: map[string]uint64{}} }

func (m *metrics) observe(r *http.Request, status int) {
	kind := "other"
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/search/"):
		kind = "native_search"
	case strings.Contains(p, "/search/"):
		kind = "chef_search"
	case strings.HasPrefix(p, "/v1/"):
		kind = "native_other"
	case p == "/healthz" || p == "/readyz" || p == "/metrics":
		kind = "probe"
	}
	m.mu.Lock()
	m.requests[fmt.Sprintf(`kind=%q,code="%d"`, kind, status)]++
	m.mu.Unlock()
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# HELP shearch_requests_total HTTP requests served, by kind and status code.")
	fmt.Fprintln(w, "# TYPE shearch_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "shearch_requests_total{%s} %d\n", k, m.requests[k])
	}
	m.mu.Unlock()
}
