package server_test

import (
	"github.com/shearch/shearch/internal/fault"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

func row(name, shard, data string) search.Row {
	return search.Row{Name: name, Shard: shard, Source: search.SourceChef, Data: json.RawMessage(data)}
}

// TestChefRows pins the Chef /search answer: {"rows","start","total"},
// each object as the shard sent it, partial rows as {"data","url"} with
// the URL under Shearch.
func TestChefRows(t *testing.T) {
	big := strings.Repeat("x", 40<<10)
	for _, tc := range []struct {
		name, method, target, body string
		rows                       []search.Row
		want                       string
	}{
		{"no rows", "GET", "/search/node", "", nil,
			`{"rows":[],"start":0,"total":0}` + "\n"},
		{"whole objects as sent", "GET", "/search/node?start=3", "", []search.Row{row("a", "chef-1", `{"name":"a", "x":1.50}`), row("b", "chef-2", `{"name":"b"}`)},
			`{"rows":[{"name":"a", "x":1.50},{"name":"b"}],"start":3,"total":2}` + "\n"},
		{"an object with line breaks is compacted", "GET", "/search/role", "", []search.Row{row("r", "chef-1", "{\n \"name\": \"r\"\n}")},
			`{"rows":[{"name":"r"}],"start":0,"total":1}` + "\n"},
		{"partial rows carry the node's URL", "POST", "/search/node", `{"ip":["ipaddress"]}`, []search.Row{row("web 1", "chef-1", `{"ip":"10.0.0.1"}`)},
			`{"rows":[{"data":{"ip":"10.0.0.1"},"url":"https://chef.example/nodes/web%201"}],"start":0,"total":1}` + "\n"},
		{"partial rows under an organization", "POST", "/organizations/acme/search/role", `{"n":["name"]}`, []search.Row{row("base", "chef-1", `{"n":"base"}`)},
			`{"rows":[{"data":{"n":"base"},"url":"https://chef.example/organizations/acme/roles/base"}],"start":0,"total":1}` + "\n"},
		{"partial data bag rows name the item", "POST", "/search/users", `{"id":["id"]}`, []search.Row{row("data_bag_item_users_alice", "chef-1", `{"id":"alice"}`)},
			`{"rows":[{"data":{"id":"alice"},"url":"https://chef.example/data/users/alice"}],"start":0,"total":1}` + "\n"},
		{"rows past one write buffer", "GET", "/search/node", "", []search.Row{row("a", "chef-1", `"`+big+`"`), row("b", "chef-1", `"`+big+`"`)},
			`{"rows":["` + big + `","` + big + `"],"start":0,"total":2}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEngine{rows: tc.rows, sum: search.ShardsSummary{Total: 2, OK: 2}}
			w := call(fakeServer(f, func(s *server.Server) { s.PublicURL = "https://chef.example/" }), tc.method, tc.target, tc.body)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := w.Body.String(); got != tc.want {
				t.Errorf("body\n %.300s\nwant\n %.300s", got, tc.want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := w.Header().Get("X-Shearch-Shards"); got != "2/2" {
				t.Errorf("X-Shearch-Shards %q, want 2/2", got)
			}
		})
	}
}

// TestStreamRows pins the NDJSON stream: a row a line as the engine emits
// them, then a summary line; an error after the first row ends the stream
// with an error line, since the status is already sent.
func TestStreamRows(t *testing.T) {
	rows := []search.Row{row("a", "chef-1", `{"name":"a","v":"<&>"}`), {Name: "b", Shard: "chef-2", Source: search.SourceConsul, URL: "u", Data: json.RawMessage("{\n}")}}
	failed := search.ShardsSummary{Total: 2, OK: 1, Failed: 1, Details: []search.ShardStatus{
		{Name: "chef-1", Stack: "prod", Status: search.StatusOK}, {Name: "chef-2", Stack: "prod", Status: search.StatusFailed, Error: "timeout"}}}
	for _, tc := range []struct {
		name     string
		f        *fakeEngine
		want     []string
		failedHd string
	}{
		{"no rows", &fakeEngine{sum: search.ShardsSummary{Total: 1, OK: 1}}, []string{
			`{"summary":{"total":0,"start":0,"rows":null,"shards":{"total":1,"ok":1,"failed":0,"details":null},"duplicates":[]}}`}, ""},
		{"rows then summary", &fakeEngine{rows: rows, sum: failed}, []string{
			`{"name":"a","shard":"chef-1","source":"chef","data":{"name":"a","v":"<&>"}}`,
			`{"name":"b","shard":"chef-2","source":"consul","url":"u","data":{}}`,
			`{"summary":{"total":2,"start":0,"rows":null,"shards":{"total":2,"ok":1,"failed":1,"details":[{"name":"chef-1","stack":"prod","status":"ok","rows":0,"took_ms":0,"error":""},{"name":"chef-2","stack":"prod","status":"failed","rows":0,"took_ms":0,"error":"timeout"}]},"duplicates":[]}}`}, "chef-2"},
		{"an error after rows is a line", &fakeEngine{rows: rows[:1], errAfter: errors.New("shard chef-2 left mid-stream: ask again")}, []string{
			`{"name":"a","shard":"chef-1","source":"chef","data":{"name":"a","v":"<&>"}}`,
			`{"error":["shard chef-2 left mid-stream: ask again"]}`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := call(fakeServer(tc.f), "GET", "/v1/search/node?order=none", "", "Accept", "application/x-ndjson")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/x-ndjson" {
				t.Errorf("Content-Type %q", ct)
			}
			if got, want := w.Body.String(), strings.Join(tc.want, "\n")+"\n"; got != want {
				t.Errorf("stream\n%s\nwant\n%s", got, want)
			}
			if got := w.Header().Get("X-Shearch-Failed"); got != tc.failedHd {
				t.Errorf("X-Shearch-Failed %q, want %q", got, tc.failedHd)
			}
		})
	}
}

// engineError is an engine failure of the kind that answers with the
// given HTTP status (the engine knows kinds, not statuses).
func engineError(status int, msg string, retry time.Duration, sum *search.ShardsSummary) error {
	kinds := map[int]fault.Kind{400: fault.BadRequest, 404: fault.NotFound, 413: fault.TooLarge,
		429: fault.Overloaded, 502: fault.ShardsFailed, 503: fault.Unavailable, 507: fault.NoSpace}
	k, ok := kinds[status]
	if !ok {
		panic(fmt.Sprintf("engineError: no kind answers %d", status))
	}
	return &fault.Error{Kind: k, Message: msg, RetryAfter: retry, Shards: sum}
}

// TestEngineErrorStatus maps what the engine returns to the status, body,
// Retry-After and shard headers the caller sees, on a page, a Chef page
// and a stream that had sent nothing yet.
func TestEngineErrorStatus(t *testing.T) {
	failed := &search.ShardsSummary{Total: 2, OK: 1, Failed: 1, Details: []search.ShardStatus{
		{Name: "chef-1", Status: search.StatusOK}, {Name: "chef-2", Status: search.StatusFailed, Error: "connection refused"}}}
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		msg        string
		retryAfter string
		failedHd   string
	}{
		{"bad query", engineError(400, "Query parse error: unexpected ) at 7", 0, nil), 400, "Query parse error: unexpected ) at 7", "", ""},
		{"unknown index", engineError(404, "I don't know how to search for nope data objects.", 0, nil), 404, "I don't know how to search for nope data objects.", "", ""},
		{"too many rows", engineError(413, "rows=20000 is over search.max_rows (10,000): page with start or cursor", 0, nil), 413, "rows=20000 is over search.max_rows (10,000): page with start or cursor", "", ""},
		{"shed by Shearch, whole seconds rounded up", engineError(429, "Shearch is shedding load: retry", 1500*time.Millisecond, nil), 429, "Shearch is shedding load: retry", "2", ""},
		{"shard failing", engineError(503, "shard chef-2 is failing; retry", 3*time.Second, failed), 503, "shard chef-2 is failing; retry", "3", "chef-2"},
		{"partial=deny with a shard down", engineError(502, "shard(s) failed: chef-2 (connection refused)", 0, failed), 502, "shard(s) failed: chef-2 (connection refused)", "", "chef-2"},
		{"no space to sort", engineError(507, "the answer is over the spill limit: narrow the query", 0, nil), 507, "the answer is over the spill limit: narrow the query", "", ""},
		{"wrapped engine error", fmt.Errorf("page: %w", engineError(400, "bad cursor", 0, nil)), 400, "bad cursor", "", ""},
		{"the caller left", context.Canceled, server.StatusClientClosed, "context canceled", "", ""},
		{"the request ran out of time", fmt.Errorf("fan-out: %w", context.DeadlineExceeded), 504, "fan-out: context deadline exceeded", "", ""},
		{"anything else is ours", errors.New("merge: index out of range"), 500, "merge: index out of range", "", ""},
	} {
		for _, path := range []struct{ target, accept string }{{"/v1/search/node", ""}, {"/search/node", ""}, {"/v1/search/node", "application/x-ndjson"}} {
			t.Run(tc.name+" "+path.target+" "+path.accept, func(t *testing.T) {
				w := call(fakeServer(&fakeEngine{err: tc.err}), "GET", path.target, "", "Accept", path.accept)
				if w.Code != tc.status {
					t.Errorf("status %d, want %d", w.Code, tc.status)
				}
				if got, want := w.Body.String(), chefError(tc.msg); got != want {
					t.Errorf("body\n %s\nwant\n %s", got, want)
				}
				if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
				}
				if got := w.Header().Get("X-Shearch-Failed"); got != tc.failedHd {
					t.Errorf("X-Shearch-Failed %q, want %q", got, tc.failedHd)
				}
			})
		}
	}
}
