package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
)

// Every kind has its status, the same ones the API answered with before
// kinds, through any wrapping; errors that are no fault keep theirs.
func TestStatusOfEveryKind(t *testing.T) {
	want := map[fault.Kind]int{
		fault.Internal:     500,
		fault.BadRequest:   400,
		fault.NotFound:     404,
		fault.NotAllowed:   405,
		fault.Conflict:     409,
		fault.TooLarge:     413,
		fault.Overloaded:   429,
		fault.Unavailable:  503,
		fault.ShardsFailed: 502,
		fault.NoSpace:      507,
	}
	for k := fault.Internal; k <= fault.NoSpace; k++ {
		w, ok := want[k]
		if !ok {
			t.Fatalf("kind %s has no status in this table", k)
		}
		err := fault.Errorf(k, "a %s", k)
		if got := statusOf(err); got != w {
			t.Errorf("%s: %d, want %d", k, got, w)
		}
		if got := statusOf(fmt.Errorf("wrapped: %w", err)); got != w {
			t.Errorf("%s wrapped: %d, want %d", k, got, w)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"unknown kind", &fault.Error{Kind: fault.Kind(99), Message: "?"}, 500},
		{"client left", fmt.Errorf("shard chef-1: %w", context.Canceled), StatusClientClosed},
		{"deadline", context.DeadlineExceeded, 504},
		{"fault over a deadline keeps its kind", fault.Errorf(fault.Unavailable, "waited: %w", context.DeadlineExceeded), 503},
		{"anything else", errors.New("boom"), 500},
	} {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A failed request's answer: the kind's status, the message as Chef
// words errors, Retry-After in whole seconds rounded up, and the shard
// headers when the fault names shards.
func TestFailAnswers(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum := &search.ShardsSummary{Total: 2, OK: 1, Failed: 1, Details: []search.ShardStatus{
		{Name: "chef-1", Status: search.StatusOK}, {Name: "chef-2", Status: search.StatusFailed, Error: "timed out"}}}
	for _, tc := range []struct {
		name                   string
		err                    error
		status                 int
		body, retry, shardsHdr string
	}{
		{"overloaded", &fault.Error{Kind: fault.Overloaded, Message: "shed", RetryAfter: 1500 * time.Millisecond}, 429, `{"error":["shed"]}`, "2", ""},
		{"shards failed", &fault.Error{Kind: fault.ShardsFailed, Message: "every shard failed", Shards: sum}, 502, `{"error":["every shard failed"]}`, "", "1/2"},
		{"no space", fault.Errorf(fault.NoSpace, "the answer is too large"), 507, `{"error":["the answer is too large"]}`, "", ""},
		{"deadline", fmt.Errorf("searching: %w", context.DeadlineExceeded), 504, `{"error":["searching: context deadline exceeded"]}`, "", ""},
		{"other", errors.New("boom"), 500, `{"error":["boom"]}`, "", ""},
	} {
		rec := httptest.NewRecorder()
		s.fail(rec, tc.err)
		if rec.Code != tc.status || rec.Body.String() != tc.body+"\n" ||
			rec.Header().Get("Retry-After") != tc.retry || rec.Header().Get("X-Shearch-Shards") != tc.shardsHdr {
			t.Errorf("%s: %d %q Retry-After %q X-Shearch-Shards %q; want %d %q %q %q", tc.name, rec.Code, rec.Body, rec.Header().Get("Retry-After"),
				rec.Header().Get("X-Shearch-Shards"), tc.status, tc.body, tc.retry, tc.shardsHdr)
		}
	}
}

// A write's verdict becomes the status a Chef client expects of one
// server.
func TestWriteStatus(t *testing.T) {
	for _, tc := range []struct {
		method string
		res    writes.Result
		want   int
	}{
		{http.MethodPut, writes.Result{Verdict: writes.WroteAll}, 200},
		{http.MethodDelete, writes.Result{Verdict: writes.WroteAll}, 200},
		{http.MethodPost, writes.Result{Verdict: writes.WroteAll}, 201},
		{http.MethodPost, writes.Result{Verdict: writes.WroteSome}, 207},
		{http.MethodPut, writes.Result{Verdict: writes.WroteNone}, 502},
		{http.MethodPut, writes.Result{Verdict: writes.AllRefused, ShardCode: 404}, 404},
		{http.MethodPost, writes.Result{Verdict: writes.AllRefused, ShardCode: 409}, 409},
		{http.MethodPut, writes.Result{Verdict: writes.AllRefused, ShardCode: 403}, 403},
	} {
		if got := writeStatus(tc.method, &tc.res); got != tc.want {
			t.Errorf("%s %+v: %d, want %d", tc.method, tc.res, got, tc.want)
		}
	}
}
