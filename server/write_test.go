package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// shardProxy stands in front of one shard: it counts the requests that
// reach the shard, and can be "stopped" (connections are dropped) and
// started again, as a shard process would.
type shardProxy struct {
	srv   *httptest.Server
	seen  atomic.Int32
	down  atomic.Bool
	proxy *httputil.ReverseProxy
}

func newShardProxy(t testing.TB, target string) *shardProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &shardProxy{proxy: httputil.NewSingleHostReverseProxy(u)}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
		}
		p.seen.Add(1)
		p.proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// writeFleet is 3 goiardi shards holding the fixture, each behind a
// proxy, and a Shearch with tokens: "wtok" may write, "rtok" may read.
type writeFleet struct {
	cluster *devfleet.Cluster
	proxies []*shardProxy
	engine  *engine.Engine
	srv     *httptest.Server
	log     *bytes.Buffer
	logMu   sync.Mutex
	keys    map[string]string // Chef user -> private key PEM; alice may write, bob may not
}

// signed sends a Chef-signed request (mixlib-authentication 1.0, as knife
// and go-chef do) as user.
func (f *writeFleet) signed(t testing.TB, user, method, path string, body any) answer {
	t.Helper()
	c, err := chef.NewClient(&chef.Config{Name: user, Key: f.keys[user], BaseURL: f.srv.URL + "/", AuthenticationVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := c.NewRequest(method, strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	json.NewDecoder(res.Body).Decode(&a.body)
	return a
}

func startWriteFleet(t testing.TB, weights ...int64) *writeFleet {
	t.Helper()
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	c, err := devfleet.StartCluster(ctx, "chef", "prod", 3, fx)
	if err != nil {
		t.Fatalf("starting 3 goiardi shards: %v", err)
	}
	t.Cleanup(c.Stop)
	f := &writeFleet{cluster: c, log: &bytes.Buffer{}}
	list := c.ShardList()
	for i := range list {
		p := newShardProxy(t, list[i].URL)
		f.proxies = append(f.proxies, p)
		list[i].URL = p.srv.URL
		if i < len(weights) {
			w := weights[i]
			list[i].Weight = &w
		}
	}
	f.engine = engine.Over(search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second}, search.Deps{Topology: search.StaticShards(list)}))
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("wtok write\nrtok\n"), 0o600)
	keys := filepath.Join(dir, "keys")
	os.Mkdir(keys, 0o700)
	f.keys = map[string]string{}
	for _, user := range []string{"alice", "bob"} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[user] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
		pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		os.WriteFile(filepath.Join(keys, user+".pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
	}
	a, err := auth.New(auth.Options{TokensFile: tokens, ChefKeysDir: keys, Writers: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(f.engine, slog.New(slog.NewTextHandler(lockedWriter{f}, nil)))
	s.Auth = a
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

type lockedWriter struct{ f *writeFleet }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.f.logMu.Lock()
	defer w.f.logMu.Unlock()
	return w.f.log.Write(b)
}

func (f *writeFleet) logText() string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.log.String()
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (f *writeFleet) do(t testing.TB, token, method, path string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	json.NewDecoder(res.Body).Decode(&a.body)
	return a
}

// onShard reads an object directly from shard i (not through Shearch or
// its proxy); nil when the shard does not have it.
func (f *writeFleet) onShard(t testing.TB, i int, kind shards.Kind, names ...string) map[string]any {
	t.Helper()
	c, err := f.cluster.Shards[i].Client()
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	err = c.GetJSON(context.Background(), pathOf(t, kind, names...), &obj)
	var se *shards.StatusError
	if errors.As(err, &se) && se.Status == 404 {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// holders lists the shards (by index) holding an object, read directly.
func (f *writeFleet) holders(t testing.TB, kind shards.Kind, names ...string) []int {
	var out []int
	for i := range f.cluster.Shards {
		if f.onShard(t, i, kind, names...) != nil {
			out = append(out, i)
		}
	}
	return out
}

func (f *writeFleet) seen() int {
	n := 0
	for _, p := range f.proxies {
		n += int(p.seen.Load())
	}
	return n
}

func sameInts(a []int, b ...int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var writeEndpoints = []struct{ method, path string }{
	{"POST", "/nodes"}, {"PUT", "/nodes/web-01.prod.example.com"}, {"DELETE", "/nodes/web-01.prod.example.com"},
	{"POST", "/roles"}, {"PUT", "/roles/web"}, {"DELETE", "/roles/web"},
	{"POST", "/environments"}, {"PUT", "/environments/prod"}, {"DELETE", "/environments/prod"},
	{"POST", "/data"}, {"DELETE", "/data/users"}, {"POST", "/data/users"},
	{"PUT", "/data/users/alice"}, {"DELETE", "/data/users/alice"},
	{"PUT", "/organizations/acme/roles/web"}, {"POST", "/v1/consistency/repair"},
}

// Acceptance 3: a read-only token gets a Chef-style 403 on every write
// endpoint, no caller at all a 401, and no shard sees a request.
func TestWritesNeedWriteScope(t *testing.T) {
	f := startWriteFleet(t)
	before := f.seen()
	for _, ep := range writeEndpoints {
		body := map[string]any{"name": "x", "id": "x"}
		a := f.do(t, "rtok", ep.method, ep.path, body)
		errs, _ := a.body["error"].([]any)
		if a.status != 403 || len(errs) != 1 || !strings.Contains(errs[0].(string), "write") {
			t.Errorf("%s %s with a read-only token: %d %v, want 403 with a Chef-style error naming write scope", ep.method, ep.path, a.status, a.body)
		}
		if a := f.do(t, "", ep.method, ep.path, body); a.status != 401 {
			t.Errorf("%s %s without credentials: %d, want 401", ep.method, ep.path, a.status)
		}
		a = f.signed(t, "bob", ep.method, ep.path, body)
		errs, _ = a.body["error"].([]any)
		if a.status != 403 || len(errs) != 1 || !strings.Contains(errs[0].(string), "auth.writers") {
			t.Errorf("%s %s signed by bob (not in auth.writers): %d %v, want 403 naming auth.writers", ep.method, ep.path, a.status, a.body)
		}
	}
	if n := f.seen() - before; n != 0 {
		t.Fatalf("shards saw %d requests from refused writes", n)
	}
	// alice is in auth.writers: her signed write goes through.
	if a := f.signed(t, "alice", "POST", "/data", map[string]any{"name": "signed"}); a.status != 201 || f.seen() == before {
		t.Errorf("POST /data signed by alice (a writer): %d %v", a.status, a.body)
	}
	before = f.seen()
	if !strings.Contains(f.logText(), "msg=audit") || !strings.Contains(f.logText(), "status=403") {
		t.Errorf("refused writes are not in the audit log:\n%s", f.logText())
	}
	// Auth off altogether: writes are refused, with how to turn it on.
	off := httptest.NewServer(server.New(f.engine, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer off.Close()
	res, err := http.Post(off.URL+"/roles", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error []string }
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != 403 || len(body.Error) != 1 || body.Error[0] != server.NoAuthWriteMessage {
		t.Errorf("auth off: %d %v, want 403 %q", res.StatusCode, body.Error, server.NoAuthWriteMessage)
	}
	if n := f.seen() - before; n != 0 {
		t.Fatalf("shards saw %d requests from refused writes", n)
	}
}

// Acceptance 1 and 4 for nodes: a node write changes exactly the shard
// that holds the node; a new node goes to the weighted pick (never a
// weight-0 shard); a node on two shards is refused with 409 naming both.
func TestNodeWritesGoToTheOwningShard(t *testing.T) {
	f := startWriteFleet(t, 0, 1, 1)
	const name = "web-01.prod.example.com"
	owner := f.holders(t, shards.Nodes, name)
	if len(owner) != 1 {
		t.Fatalf("fixture: %s on shards %v", name, owner)
	}
	node := f.onShard(t, owner[0], shards.Nodes, name)
	node["chef_environment"] = "dev"
	a := f.do(t, "wtok", "PUT", "/nodes/"+name, node)
	if a.status != 200 || a.header.Get("X-Shearch-Shard") != f.cluster.Shards[owner[0]].Name {
		t.Fatalf("PUT node: %d shard %q %v", a.status, a.header.Get("X-Shearch-Shard"), a.body)
	}
	for i := range f.cluster.Shards {
		got := f.onShard(t, i, shards.Nodes, name)
		if i == owner[0] && got["chef_environment"] != "dev" {
			t.Errorf("owner shard %d not changed: %v", i, got["chef_environment"])
		}
		if i != owner[0] && got != nil {
			t.Errorf("shard %d got a copy of %s", i, name)
		}
	}

	// New nodes: the weighted pick, deterministic, never the weight-0 shard.
	for _, n := range []string{"new-a", "new-b", "new-c", "new-d", "new-e", "new-f"} {
		a := f.do(t, "wtok", "POST", "/nodes", map[string]any{"name": n, "chef_environment": "_default", "json_class": "Chef::Node", "chef_type": "node", "run_list": []string{}})
		if a.status != 201 || !allCodes(a, 201) {
			t.Fatalf("POST node %s: %d %v %s", n, a.status, a.body, a.header.Get("X-Shearch-Outcomes"))
		}
		if uri, _ := a.body["uri"].(string); !strings.HasPrefix(uri, f.srv.URL+"/nodes/") {
			t.Errorf("POST node %s: uri %q does not point at Shearch", n, uri)
		}
		took := a.header.Get("X-Shearch-Shard")
		if a.body["shard"] != took {
			t.Errorf("POST node %s: the answer names shard %v, the header %s", n, a.body["shard"], took)
		}
		h := f.holders(t, shards.Nodes, n)
		if len(h) != 1 || f.cluster.Shards[h[0]].Name != took || took == "chef-1" {
			t.Errorf("new node %s: answer says %s, shards holding it %v (chef-1 has weight 0)", n, took, h)
		}
		if a := f.do(t, "wtok", "POST", "/nodes", map[string]any{"name": n}); a.status != 409 {
			t.Errorf("second POST of %s: %d, want 409", n, a.status)
		}
	}

	// Delete: gone from its shard, no other shard asked to change.
	a = f.do(t, "wtok", "DELETE", "/nodes/new-a", nil)
	if a.status != 200 || len(f.holders(t, shards.Nodes, "new-a")) != 0 {
		t.Fatalf("DELETE node: %d %v", a.status, a.body)
	}
	if a := f.do(t, "wtok", "PUT", "/nodes/new-a", map[string]any{"name": "new-a"}); a.status != 404 {
		t.Errorf("PUT of a deleted node: %d, want 404", a.status)
	}

	// A node on two shards: 409 naming both, nothing changed.
	dup := f.onShard(t, owner[0], shards.Nodes, name)
	other := (owner[0] + 1) % 3
	c, _ := f.cluster.Shards[other].Client()
	post, _ := shards.WritePath("POST", shards.Nodes)
	if _, err := c.Do(context.Background(), "POST", post, dup); err != nil {
		t.Fatal(err)
	}
	// The owner is cached from the PUT above; the duplicate must still be
	// found once the cache is not trusted, so forget it as a 30s wait would.
	f.engine.Writer.OwnerTTL = time.Nanosecond
	for _, m := range []string{"PUT", "DELETE"} {
		before := f.seen()
		a := f.do(t, "wtok", m, "/nodes/"+name, dup)
		msg := ""
		if errs, ok := a.body["error"].([]any); ok && len(errs) > 0 {
			msg, _ = errs[0].(string)
		}
		if a.status != 409 || !strings.Contains(msg, f.cluster.Shards[owner[0]].Name) || !strings.Contains(msg, f.cluster.Shards[other].Name) {
			t.Errorf("%s of a node on two shards: %d %q, want 409 naming both", m, a.status, msg)
		}
		if n := f.seen() - before; n != 3 {
			t.Errorf("%s of a duplicated node: %d shard requests, want the 3 lookups only", m, n)
		}
	}
	if len(f.holders(t, shards.Nodes, name)) != 2 {
		t.Fatal("a refused write changed a shard")
	}
	// The way out: pick the copy.
	a = f.do(t, "wtok", "DELETE", "/nodes/"+name+"?shard="+f.cluster.Shards[other].Name, nil)
	if a.status != 200 || !sameInts(f.holders(t, shards.Nodes, name), owner[0]) {
		t.Errorf("DELETE ?shard= of one copy: %d, holders %v", a.status, f.holders(t, shards.Nodes, name))
	}
	if log := f.logText(); !strings.Contains(log, "caller=token:") || !strings.Contains(log, "method=DELETE") || !strings.Contains(log, "outcomes=") {
		t.Errorf("audit log lacks caller, method or outcomes:\n%s", log)
	}
}

// allCodes says every shard's outcome in X-Shearch-Outcomes carries code:
// what Chef answers a done write with (201 for a create, 200 otherwise).
func allCodes(a answer, code int) bool {
	var outs []writes.Outcome
	if json.Unmarshal([]byte(a.header.Get("X-Shearch-Outcomes")), &outs) != nil || len(outs) == 0 {
		return false
	}
	for _, o := range outs {
		if o.Code != code {
			return false
		}
	}
	return true
}

// Acceptance 1 for roles, environments and data bags: every shard changes.
func TestStackWritesChangeEveryShard(t *testing.T) {
	f := startWriteFleet(t)
	role := f.onShard(t, 0, shards.Roles, "web")
	role["description"] = "changed"
	a := f.do(t, "wtok", "PUT", "/roles/web", role)
	if a.status != 200 {
		t.Fatalf("PUT role: %d %v", a.status, a.body)
	}
	var outs []writes.Outcome
	json.Unmarshal([]byte(a.header.Get("X-Shearch-Outcomes")), &outs)
	if len(outs) != 3 || !allCodes(a, 200) {
		t.Errorf("outcomes header: %v", outs)
	}
	for i := 0; i < 3; i++ {
		if d := f.onShard(t, i, shards.Roles, "web")["description"]; d != "changed" {
			t.Errorf("shard %d role web description %v", i, d)
		}
	}
	newRole := map[string]any{"name": "cache", "json_class": "Chef::Role", "chef_type": "role", "description": "", "run_list": []string{"recipe[redis]"},
		"default_attributes": map[string]any{}, "override_attributes": map[string]any{}, "env_run_lists": map[string]any{}}
	if a := f.do(t, "wtok", "POST", "/roles", newRole); a.status != 201 || !sameInts(f.holders(t, shards.Roles, "cache"), 0, 1, 2) || !allCodes(a, 201) {
		t.Fatalf("POST role: %d %v %s", a.status, a.body, a.header.Get("X-Shearch-Outcomes"))
	}
	if a := f.do(t, "wtok", "POST", "/roles", newRole); a.status != 409 {
		t.Errorf("POST of an existing role: %d, want 409 as Chef", a.status)
	}
	if a := f.do(t, "wtok", "DELETE", "/roles/cache", nil); a.status != 200 || len(f.holders(t, shards.Roles, "cache")) != 0 || !allCodes(a, 200) {
		t.Fatalf("DELETE role: %d %v %s", a.status, a.body, a.header.Get("X-Shearch-Outcomes"))
	}
	if a := f.do(t, "wtok", "DELETE", "/roles/cache", nil); a.status != 404 {
		t.Errorf("DELETE of a missing role: %d, want 404", a.status)
	}
	env := map[string]any{"name": "qa", "json_class": "Chef::Environment", "chef_type": "environment", "description": "", "cookbook_versions": map[string]any{},
		"default_attributes": map[string]any{}, "override_attributes": map[string]any{}}
	if a := f.do(t, "wtok", "POST", "/environments", env); a.status != 201 || !sameInts(f.holders(t, shards.Environments, "qa"), 0, 1, 2) || !allCodes(a, 201) {
		t.Fatalf("POST environment: %d %v", a.status, a.body)
	}
	if a := f.do(t, "wtok", "POST", "/data", map[string]any{"name": "apps"}); a.status != 201 || !sameInts(f.holders(t, shards.DataBags, "apps"), 0, 1, 2) || !allCodes(a, 201) {
		t.Fatalf("POST data bag: %d %v", a.status, a.body)
	}
	if a := f.do(t, "wtok", "POST", "/data/apps", map[string]any{"id": "shop", "port": 80}); a.status != 201 || !sameInts(f.holders(t, shards.DataBags, "apps", "shop"), 0, 1, 2) || !allCodes(a, 201) {
		t.Fatalf("POST data bag item: %d %v", a.status, a.body)
	}
	if a := f.do(t, "wtok", "PUT", "/data/apps/shop", map[string]any{"id": "shop", "port": 81}); a.status != 200 || !allCodes(a, 200) {
		t.Fatalf("PUT data bag item: %d %v", a.status, a.body)
	}
	for i := 0; i < 3; i++ {
		if p := f.onShard(t, i, shards.DataBags, "apps", "shop")["port"]; p != json.Number("81") {
			t.Errorf("shard %d item port %v", i, p)
		}
	}
	if a := f.do(t, "wtok", "DELETE", "/data/apps/shop", nil); a.status != 200 || len(f.holders(t, shards.DataBags, "apps", "shop")) != 0 || !allCodes(a, 200) {
		t.Fatalf("DELETE data bag item: %d %v", a.status, a.body)
	}
	if a := f.do(t, "wtok", "DELETE", "/data/apps", nil); a.status != 200 || len(f.holders(t, shards.DataBags, "apps")) != 0 || !allCodes(a, 200) {
		t.Fatalf("DELETE data bag: %d %v", a.status, a.body)
	}
	if a := f.do(t, "wtok", "PUT", "/roles/bad%20name", role); a.status != 400 {
		t.Errorf("PUT of a bad role name: %d, want 400", a.status)
	}
}

// Acceptance 2: with a shard stopped, a role upload reports it failed
// (207); once it is back, /v1/consistency shows the difference, and a
// repair makes the shards equal again.
func TestPartialWriteThenRepair(t *testing.T) {
	f := startWriteFleet(t)
	role := f.onShard(t, 0, shards.Roles, "db")
	role["description"] = "v2"
	f.proxies[2].down.Store(true)
	a := f.do(t, "wtok", "PUT", "/roles/db", role)
	if a.status != 207 {
		t.Fatalf("PUT role with a shard stopped: %d %v, want 207", a.status, a.body)
	}
	outs, _ := a.body["shards"].([]any)
	if len(outs) != 3 || outs[2].(map[string]any)["status"] != "failed" || outs[0].(map[string]any)["status"] != "ok" {
		t.Errorf("outcomes: %v", outs)
	}
	if a.header.Get("X-Shearch-Failed") != "chef-3" {
		t.Errorf("X-Shearch-Failed %q", a.header.Get("X-Shearch-Failed"))
	}
	f.proxies[2].down.Store(true)
	for i := range f.proxies {
		f.proxies[i].down.Store(true)
	}
	if a := f.do(t, "wtok", "PUT", "/roles/db", role); a.status != 502 {
		t.Errorf("PUT role with every shard stopped: %d, want 502", a.status)
	}
	for i := range f.proxies {
		f.proxies[i].down.Store(false)
	}

	a = f.do(t, "wtok", "GET", "/v1/consistency", nil)
	drift, _ := a.body["drift"].([]any)
	if len(drift) != 1 || drift[0].(map[string]any)["name"] != "db" {
		t.Fatalf("consistency after the partial write: %v", a.body)
	}
	plan := f.do(t, "rtok", "GET", "/v1/consistency/repair", nil)
	acts, _ := plan.body["actions"].([]any)
	if plan.status != 200 || len(acts) != 1 {
		t.Fatalf("repair plan: %d %v", plan.status, plan.body)
	}
	act := acts[0].(map[string]any)
	if act["from"] != "chef-1" || len(act["update"].([]any)) != 1 || act["update"].([]any)[0] != "chef-3" {
		t.Errorf("plan action %v: want chef-1's copy onto chef-3", act)
	}
	rep := f.do(t, "wtok", "POST", "/v1/consistency/repair", map[string]any{"actions": acts})
	if rep.status != 200 || len(rep.body["applied"].([]any)) != 1 {
		t.Fatalf("repair: %d %v", rep.status, rep.body)
	}
	for i := 0; i < 3; i++ {
		if d := f.onShard(t, i, shards.Roles, "db")["description"]; d != "v2" {
			t.Errorf("after repair, shard %d role db description %v", i, d)
		}
	}
	a = f.do(t, "wtok", "GET", "/v1/consistency", nil)
	if drift, _ := a.body["drift"].([]any); len(drift) != 0 {
		t.Errorf("consistency after repair: %v", a.body)
	}
	// A stale plan is not applied.
	rep = f.do(t, "wtok", "POST", "/v1/consistency/repair", map[string]any{"actions": acts})
	if len(rep.body["applied"].([]any)) != 0 || len(rep.body["skipped"].([]any)) != 1 {
		t.Errorf("replaying a done plan: %v", rep.body)
	}
}
