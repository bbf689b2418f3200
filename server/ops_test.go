package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/waitfor"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// /readyz is 503 while no shard of the default stack is reachable, and
// while draining.
func TestReadyz(t *testing.T) {
	f := startFleet(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	good := f.cluster.Shards[0].Shard("prod")
	bad := f.cluster.Shards[1].Shard("dev")
	bad.URL = dead
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards{good, bad}, Log: quiet, Guards: shards.NewGuards(shards.GuardConfig{BreakerFailures: 1}, quiet)})
	srv := server.New(engine.Over(e), quiet)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	status := func() int {
		res, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("fresh: /readyz %d", s)
	}
	// The dev stack's only shard refuses: dev is not ready, prod still is.
	e.Search(context.Background(), search.Request{Index: "node", Stack: "dev"})
	if e.Reachable("dev") || !e.Reachable("prod") {
		t.Errorf("reachable: dev %v (want false), prod %v (want true)", e.Reachable("dev"), e.Reachable("prod"))
	}
	e.DefaultStack = "dev"
	if s := status(); s != 503 {
		t.Errorf("no reachable shard in the default stack: /readyz %d, want 503", s)
	}
	e.DefaultStack = "prod"
	srv.Drain()
	if s := status(); s != 503 {
		t.Errorf("draining: /readyz %d, want 503", s)
	}
}

// One access log line per request with what an operator needs, the
// request id echoed and sent to the shards, and a shard failure logged
// once with its cause.
func TestAccessLogAndShardFailureLog(t *testing.T) {
	f := startFleet(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	good := f.cluster.Shards[0].Shard("prod")
	bad := f.cluster.Shards[1].Shard("prod")
	bad.URL = dead
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards{good, bad}, Log: log, Guards: shards.NewGuards(shards.GuardConfig{RetryBudget: -1}, log)})
	ts := httptest.NewServer(server.New(engine.Over(e), log))
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/v1/search/node?q=*:*", nil)
	req.Header.Set("X-Request-Id", "ops-test-7")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Request-Id") != "ops-test-7" {
		t.Fatalf("HTTP %d, X-Request-Id %q", res.StatusCode, res.Header.Get("X-Request-Id"))
	}
	// The access line is written once the handler returns, which may be
	// just after the client has the whole answer: wait for it, briefly.
	waitfor.Until(t, "the access log line", func() bool { return strings.Contains(buf.String(), `"msg":"request"`) })
	var access, failures []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch m["msg"] {
		case "request":
			access = append(access, m)
		case "shard request failed":
			failures = append(failures, m)
		}
	}
	if len(access) != 1 {
		t.Fatalf("%d access log lines for one request:\n%s", len(access), buf.String())
	}
	a := access[0]
	for k, want := range map[string]any{"method": "GET", "route": "GET /v1/search/{index}", "status": 200.0, "request_id": "ops-test-7",
		"shards_ok": 1.0, "shards_failed": 1.0, "caller": ""} {
		if a[k] != want {
			t.Errorf("access log %s = %v, want %v", k, a[k], want)
		}
	}
	if _, ok := a["duration_ms"]; !ok || a["rows"] == nil {
		t.Errorf("access log lacks duration_ms or rows: %v", a)
	}
	if len(failures) != 1 || failures[0]["shard"] != bad.Name || failures[0]["request_id"] != "ops-test-7" ||
		!strings.Contains(fmt.Sprint(failures[0]["err"]), "connection refused") {
		t.Errorf("shard failure log lines: %v; want one naming %s, the request id and the cause", failures, bad.Name)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
