package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// shardPathRE is every path Shearch may ask of a shard mounted under
// /organizations/acme: the org's read endpoints, with names that follow
// Chef Server's rules.
var shardPathRE = regexp.MustCompile(`^/organizations/acme/(search/[.A-Za-z0-9_:-]+|(nodes|roles|environments|clients|data|cookbooks)(/[.A-Za-z0-9_:-]+){0,2})$`)

// recordingShard is a Chef organization at /organizations/acme that
// answers every read with one object, and records the paths it is asked.
type recordingShard struct {
	srv *httptest.Server
	mu  sync.Mutex
	// paths are the escaped request paths, as sent on the wire; calls
	// the same with the method in front ("PUT /organizations/acme/...").
	paths []string
	calls []string
}

func newRecordingShard(t testing.TB) *recordingShard {
	rs := &recordingShard{}
	rs.srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *recordingShard) serve(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	rs.paths = append(rs.paths, r.URL.EscapedPath())
	rs.calls = append(rs.calls, r.Method+" "+r.URL.EscapedPath())
	rs.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/organizations/acme/")
	if !ok || !shardPathRE.MatchString(r.URL.EscapedPath()) {
		http.Error(w, `{"error":["not an org read endpoint"]}`, http.StatusNotFound)
		return
	}
	segs := strings.Split(rest, "/")
	enc := json.NewEncoder(w)
	switch {
	case segs[0] == "search" && r.Method == http.MethodPost:
		body := map[string][]string{}
		json.NewDecoder(r.Body).Decode(&body)
		data := map[string]any{}
		for k := range body {
			data[k] = "web-01"
		}
		enc.Encode(map[string]any{"total": 1, "start": 0, "rows": []any{map[string]any{"url": rs.srv.URL + "/nodes/web-01", "data": data}}})
	case segs[0] == "search":
		enc.Encode(map[string]any{"total": 1, "start": 0, "rows": []any{node("web-01")}})
	case len(segs) == 1 || segs[0] == "data" && len(segs) == 2 || len(segs) == 3 && segs[2] == "nodes":
		enc.Encode(map[string]string{"web-01": rs.srv.URL + "/" + rest + "/web-01"})
	default:
		enc.Encode(node(segs[len(segs)-1]))
	}
}

func node(name string) map[string]any {
	return map[string]any{"name": name, "id": name, "chef_environment": "_default", "json_class": "Chef::Node",
		"automatic": map[string]any{"ohai_time": 1700000000.5}}
}

// recorded returns and forgets the paths asked so far.
func (rs *recordingShard) recorded() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := rs.paths
	rs.paths, rs.calls = nil, nil
	return out
}

// recordedCalls returns and forgets the requests asked so far, each as
// "METHOD path".
func (rs *recordingShard) recordedCalls() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := rs.calls
	rs.paths, rs.calls = nil, nil
	return out
}

// writeKey writes a throwaway signing key for the shard clients.
func writeKey(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admin.pem")
	if err := os.WriteFile(p, []byte(sharedKey(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	keyOnce sync.Once
	keyText string
)

func sharedKey(t testing.TB) string {
	keyOnce.Do(func() { keyText = throwawayKey(t) })
	return keyText
}

// fakeShardServer is Shearch over fake shards, as a handler.
func fakeShardServer(t testing.TB, list ...shards.Shard) *server.Server {
	key := writeKey(t)
	for i := range list {
		list[i].ClientName, list[i].ClientKey, list[i].Stack = "admin", key, "prod"
		if list[i].Timeout == 0 {
			list[i].Timeout = 10 * time.Second
		}
	}
	e := search.MustNew(search.Config{DefaultStack: "prod", CheckQueries: true}, search.Deps{Topology: search.StaticShards(list)})
	return server.New(engine.Over(e), nil)
}

// rawRequest parses a request exactly as net/http's server would read it
// off the wire; a request line it refuses is the server's own 400.
func rawRequest(method, target, body string) (*http.Request, bool) {
	raw := method + " " + target + " HTTP/1.1\r\nHost: shearch.test\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	return req, err == nil
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
