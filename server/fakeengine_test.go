package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// fakeEngine answers the handlers with canned rows or a canned error, and
// keeps the request they asked for: the HTTP layer is tested on its own,
// with no shard running. The embedded nil Engine makes a handler that
// calls anything else panic, naming the method it reached for.
type fakeEngine struct {
	server.Engine

	rows []search.Row
	// res, when set, is Search's answer; otherwise one is made of rows.
	res *search.Result
	err error
	// errAfter, for Stream, is returned after the rows were sent.
	errAfter error
	sum      search.ShardsSummary

	mu  sync.Mutex
	got []search.Request
}

func (f *fakeEngine) asked(req search.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, req)
}

// request is the one request the handler passed on; the test fails if
// there was not exactly one.
func (f *fakeEngine) request(t *testing.T) search.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) != 1 {
		t.Fatalf("the engine was asked %d times, want once: %+v", len(f.got), f.got)
	}
	return f.got[0]
}

func (f *fakeEngine) Search(ctx context.Context, req search.Request) (*search.Result, error) {
	f.asked(req)
	if f.err != nil {
		return nil, f.err
	}
	if f.res != nil {
		return f.res, nil
	}
	return &search.Result{Total: len(f.rows), Start: req.Start, Rows: f.rows, Shards: f.sum, Duplicates: []search.Duplicate{}}, nil
}

func (f *fakeEngine) Stream(ctx context.Context, req search.Request, begin func(search.ShardsSummary), emit func(search.Row) error) (*search.Result, error) {
	f.asked(req)
	if f.err != nil {
		return nil, f.err
	}
	begin(f.sum)
	for _, r := range f.rows {
		if err := emit(r); err != nil {
			return nil, err
		}
	}
	if f.errAfter != nil {
		return nil, f.errAfter
	}
	return &search.Result{Total: len(f.rows), Shards: f.sum, Duplicates: []search.Duplicate{}}, nil
}

func (f *fakeEngine) Shards(stack string) []shards.Shard {
	return []shards.Shard{{Name: "chef-1", Stack: "prod"}, {Name: "chef-2", Stack: "prod"}}
}

func (f *fakeEngine) Stack(s string) string {
	if s == "" {
		return "prod"
	}
	return s
}

func (f *fakeEngine) Reachable(string) bool { return true }

func (f *fakeEngine) Collectors() []prometheus.Collector { return nil }

// fakeServer serves f with nothing configured: everyone may read.
func fakeServer(f *fakeEngine, configure ...func(*server.Server)) *server.Server {
	s := server.New(f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, c := range configure {
		c(s)
	}
	return s
}

// call sends one request through the whole handler chain (auth, limits,
// routing) and returns the recorded answer.
func call(s http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// chefError is the body Chef and Shearch answer an error with.
func chefError(msg string) string {
	b, _ := jsonMarshalNoEscape(map[string][]string{"error": {msg}})
	return string(b)
}
