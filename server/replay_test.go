package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/internal/auth"
)

// signedAs builds a request signed by user (go-chef, protocol 1.0, as
// knife's default) and returns a function that sends it, the very same
// bytes each time, with extra appended to the URL after signing.
func (f *writeFleet) signedAs(t *testing.T, user, method, path string, body any) func(extra string) answer {
	t.Helper()
	c, err := chef.NewClient(&chef.Config{Name: user, Key: f.keys[user], BaseURL: f.srv.URL + "/", AuthenticationVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	var rd io.Reader
	if body != nil {
		data, _ = json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := c.NewRequest(method, strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatal(err)
	}
	return func(extra string) answer {
		t.Helper()
		u := req.URL.String() + extra
		r, _ := http.NewRequest(method, u, bytes.NewReader(data))
		r.Header = req.Header.Clone()
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		a := answer{status: res.StatusCode, header: res.Header}
		json.NewDecoder(res.Body).Decode(&a.body)
		return a
	}
}

func errText(a answer) string {
	errs, _ := a.body["error"].([]any)
	if len(errs) != 1 {
		return ""
	}
	s, _ := errs[0].(string)
	return s
}

// A Chef-signed write sent a second time within the skew window (a
// replay: the same signature) is a 401 that reaches no shard; the query
// string, which the signature does not cover, cannot steer a Chef-signed
// write to another stack or shard, while the path, which it covers, can.
func TestChefSignedWriteReplayAndStack(t *testing.T) {
	f := startWriteFleet(t)

	send := f.signedAs(t, "alice", "POST", "/data", map[string]any{"name": "replayed"})
	if a := send(""); a.status != 201 {
		t.Fatalf("first use: %d %v", a.status, a.body)
	}
	before := f.seen()
	if a := send(""); a.status != 401 || errText(a) != auth.ChefFailure("alice") {
		t.Fatalf("replay: %d %v, want 401 %q", a.status, a.body, auth.ChefFailure("alice"))
	}
	if n := f.seen() - before; n != 0 {
		t.Fatalf("a replayed write reached the shards %d times", n)
	}
	if !strings.Contains(f.logText(), "replayed signature") {
		t.Fatalf("the log does not say the write was a replay:\n%s", f.logText())
	}

	// ?stack= and ?shard= on a Chef-signed write: a 400 that says how.
	for _, extra := range []string{"?stack=prod", "?shard=chef-1"} {
		a := f.signedAs(t, "alice", "POST", "/data", map[string]any{"name": "querystack"})(extra)
		if a.status != 400 || !strings.Contains(errText(a), "/stacks/STACK/") || !strings.Contains(errText(a), "not covered by a Chef request signature") {
			t.Fatalf("Chef-signed write with %s: %d %v", extra, a.status, a.body)
		}
	}
	a := f.signedAs(t, "alice", "DELETE", "/nodes/web-01.prod.example.com", nil)("?shard=chef-1")
	if a.status != 400 || !strings.Contains(errText(a), "/stacks/STACK/shards/SHARD/nodes/NAME") {
		t.Fatalf("Chef-signed node delete with ?shard=: %d %v", a.status, a.body)
	}
	a = f.signedAs(t, "alice", "POST", "/v1/consistency/repair", map[string]any{"actions": []any{}})("?stack=prod")
	if a.status != 400 {
		t.Fatalf("Chef-signed repair with ?stack=: %d %v", a.status, a.body)
	}
	if n := f.seen() - before; n != 0 {
		t.Fatalf("refused writes reached the shards %d times", n)
	}
	// The signed places: the path, and a repair's body.
	if a := f.signedAs(t, "alice", "POST", "/stacks/prod/data", map[string]any{"name": "pathstack"})(""); a.status != 201 {
		t.Fatalf("Chef-signed POST /stacks/prod/data: %d %v", a.status, a.body)
	}
	if f.onShard(t, 0, "data", "pathstack") == nil {
		t.Fatal("the write to /stacks/prod/data did not reach the prod shards")
	}
	if a := f.signedAs(t, "alice", "POST", "/stacks/dev/organizations/acme/data", map[string]any{"name": "devstack"})(""); a.status != 503 || !strings.Contains(errText(a), `stack "dev"`) {
		t.Fatalf("Chef-signed POST to stack dev (no shards): %d %v, want the 503 naming stack dev", a.status, a.body)
	}
	if a := f.signedAs(t, "alice", "POST", "/v1/consistency/repair", map[string]any{"stack": "dev", "actions": []any{}})(""); a.status != 503 || !strings.Contains(errText(a), `stack "dev"`) {
		t.Fatalf("Chef-signed repair of stack dev named in the body: %d %v", a.status, a.body)
	}
	if a := f.signedAs(t, "alice", "POST", "/stacks/prod/data", map[string]any{"name": "twice"})("?stack=dev"); a.status != 400 || !strings.Contains(errText(a), "name it once") {
		t.Fatalf("path stack prod with ?stack=dev: %d %v", a.status, a.body)
	}
	if a := f.signedAs(t, "alice", "PUT", "/stacks/prod/shards/chef-1/roles/web", map[string]any{"name": "web"})(""); a.status != 400 {
		t.Fatalf("a path shard on a role write: %d %v", a.status, a.body)
	}
	// A bearer token is not replayable by its request, and keeps ?stack=.
	if a := f.do(t, "wtok", "POST", "/data?stack=prod", map[string]any{"name": "tokenstack"}); a.status != 201 {
		t.Fatalf("token write with ?stack=prod: %d %v", a.status, a.body)
	}
}
