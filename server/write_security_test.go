package server_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// shardWriteRE is every write Shearch may send a shard mounted under
// /organizations/acme: creates, updates and deletes of nodes, roles,
// environments, data bags and their items, with names that follow Chef
// Server's rules. Clients, cookbooks, users and other orgs are never
// written.
var shardWriteRE = regexp.MustCompile(`^(POST|PUT|DELETE) /organizations/acme/((nodes|roles|environments)(/[.A-Za-z0-9_:-]+)?|data(/[.A-Za-z0-9_:-]+){0,2})$`)

// shardCallOK says whether one "METHOD path" a shard saw is an org read
// (GET, or a POST partial search) or an org write.
func shardCallOK(call string) bool {
	method, path, _ := strings.Cut(call, " ")
	switch method {
	case "GET":
		return shardPathRE.MatchString(path)
	case "POST":
		if strings.HasPrefix(path, "/organizations/acme/search/") {
			return shardPathRE.MatchString(path)
		}
	}
	return shardWriteRE.MatchString(call)
}

// writerServer is Shearch over the recording shard with a token that may
// write ("wtok"), so auth is not what stops a hostile write.
func writerServer(t testing.TB, rs *recordingShard) *server.Server {
	s := fakeShardServer(t, shards.Shard{Name: "chef-1", URL: rs.srv.URL + "/organizations/acme", Timeout: 5 * time.Second})
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("wtok write\nrtok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Options{TokensFile: tokens})
	if err != nil {
		t.Fatal(err)
	}
	s.Auth = a
	return s
}

// wireAs is wire with extra header lines ("Name: value\r\n" each).
func wireAs(t *testing.T, addr, method, target, headers, body string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	raw := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		headers + "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b := new(strings.Builder)
	bufio.NewReader(res.Body).WriteTo(b)
	return res.StatusCode, b.String()
}

const writeToken = "Authorization: Bearer wtok\r\n"

// writeTargets is every write route, with and without the org prefix,
// with name in each name position.
func writeTargets(name string) []struct{ method, target string } {
	var out []struct{ method, target string }
	add := func(m, t string) { out = append(out, struct{ method, target string }{m, t}) }
	for _, pre := range []string{"", "/organizations/acme", "/stacks/prod", "/stacks/prod/organizations/acme"} {
		for _, coll := range []string{"nodes", "roles", "environments"} {
			add("PUT", pre+"/"+coll+"/"+name)
			add("DELETE", pre+"/"+coll+"/"+name)
		}
		add("POST", pre+"/data/"+name)
		add("DELETE", pre+"/data/"+name)
		add("PUT", pre+"/data/"+name+"/item")
		add("DELETE", pre+"/data/"+name+"/item")
		add("PUT", pre+"/data/users/"+name)
		add("DELETE", pre+"/data/users/"+name)
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		add(m, "/organizations/"+name+"/roles")
		add(m, "/organizations/"+name+"/roles/web")
		add(m, "/organizations/"+name+"/nodes/web-01")
		add(m, "/organizations/"+name+"/data/users/item")
	}
	add("POST", "/v1/consistency/repair?stack="+name)
	add("POST", "/stacks/"+name+"/v1/consistency/repair")
	add("PUT", "/stacks/"+name+"/nodes/web-01")
	add("DELETE", "/stacks/prod/shards/"+name+"/nodes/web-01")
	add("PUT", "/stacks/prod/shards/chef-1/nodes/"+name)
	add("POST", "/stacks/"+name+"/data")
	return out
}

// hostileBodyNames are names a write body may carry (decoded JSON
// strings, so no URL decoding is involved): each breaks Chef Server's
// name rules.
var hostileBodyNames = []string{"../x", "..", ".", "a/b", "/", `a\b`, "a\x00b", "%2e%2e", "..%2Fusers", "x?y", "x#y",
	" web", "web\n", "users/../../pivotal", strings.Repeat("a", 256), "\u2024\u2024"}

// Every write route refuses hostile names in the URL and in the body with
// a 4xx, even for a caller allowed to write, and the shard is asked only
// for the org's read endpoints and the write forms of nodes, roles,
// environments and data bags.
func TestHostileWritesNeverLeaveTheOrg(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(writerServer(t, rs))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	// The harness sees good writes reach the shard.
	for _, good := range []struct{ method, target, body, want string }{
		{"PUT", "/nodes/web-01", `{"name":"web-01"}`, "PUT /organizations/acme/nodes/web-01"},
		{"PUT", "/organizations/acme/roles/web", `{"json_class":"Chef::Role"}`, "PUT /organizations/acme/roles/web"},
		{"POST", "/roles", `{"name":"web"}`, "POST /organizations/acme/roles"},
		{"PUT", "/data/users/alice", `{"id":"alice"}`, "PUT /organizations/acme/data/users/alice"},
		{"DELETE", "/environments/prod", ``, "DELETE /organizations/acme/environments/prod"},
	} {
		code, body := wireAs(t, addr, good.method, good.target, writeToken, good.body)
		calls := rs.recordedCalls()
		if code >= 300 || !strings.Contains(strings.Join(calls, "\n"), good.want) {
			t.Errorf("%s %s: %d %s; the shard saw %v, want %s", good.method, good.target, code, body, calls, good.want)
		}
	}

	sent := 0
	for _, name := range append(hostileNames, "..", "%2e%2e/%2e%2e", "a/..") {
		for _, w := range writeTargets(name) {
			sent++
			// The body names nothing, so the URL's name is what is checked.
			code, body := wireAs(t, addr, w.method, w.target, writeToken, `{"json_class":"Chef::Role"}`)
			if code < 400 || code > 499 {
				t.Errorf("%s %s: %d %s, want a 4xx", w.method, w.target, code, body)
			}
		}
	}
	for _, c := range rs.recordedCalls() {
		if !shardCallOK(c) {
			t.Errorf("the shard was asked %s", c)
		}
	}

	// Hostile names in the body: a create is refused before any shard is
	// asked; a PUT whose body names another object is Chef's 400
	// "... name mismatch.".
	for _, bn := range hostileBodyNames {
		b, _ := json.Marshal(bn)
		q := string(b)
		for _, c := range []struct{ method, target, body string }{
			{"POST", "/nodes", `{"name":` + q + `}`}, {"POST", "/roles", `{"name":` + q + `}`},
			{"POST", "/environments", `{"name":` + q + `}`}, {"POST", "/data", `{"name":` + q + `}`},
			{"POST", "/organizations/acme/roles", `{"name":` + q + `}`},
			{"POST", "/data/users", `{"id":` + q + `}`}, {"POST", "/data/users", `{"raw_data":{"id":` + q + `}}`},
			{"PUT", "/nodes/web-01", `{"name":` + q + `}`}, {"PUT", "/roles/web", `{"name":` + q + `}`},
			{"PUT", "/environments/prod", `{"name":` + q + `}`}, {"PUT", "/data/users/alice", `{"id":` + q + `}`},
			{"PUT", "/data/users/alice", `{"raw_data":{"id":` + q + `}}`},
		} {
			sent++
			code, body := wireAs(t, addr, c.method, c.target, writeToken, c.body)
			if code < 400 || code > 499 {
				t.Errorf("%s %s %s: %d %s, want a 4xx", c.method, c.target, c.body, code, body)
			}
			if calls := rs.recordedCalls(); len(calls) != 0 {
				t.Errorf("%s %s %s: the shard was asked %v", c.method, c.target, c.body, calls)
			}
		}
	}
	t.Logf("%d hostile writes, all 4xx", sent)
}

// A PUT body naming another object than its URL is Chef Server's 400
// "<Type> name mismatch.", before any shard is asked; a body without a
// name takes the URL's, as Chef Server does.
func TestWriteBodyNameMustMatchURL(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(writerServer(t, rs))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct{ target, body, want string }{
		{"/nodes/web-01", `{"name":"db-01"}`, "Node name mismatch."},
		{"/roles/web", `{"name":"db"}`, "Role name mismatch."},
		{"/organizations/acme/roles/web", `{"name":7}`, "Role name mismatch."},
		{"/environments/prod", `{"name":"dev"}`, "Environment name mismatch."},
		{"/data/users/alice", `{"id":"bob"}`, "DataBagItem name mismatch."},
		{"/data/users/alice", `{"raw_data":{"id":"bob"}}`, "DataBagItem name mismatch."},
		{"/roles/web", `{"name":null}`, "Role name mismatch."},
	} {
		code, body := wireAs(t, addr, "PUT", c.target, writeToken, c.body)
		if code != http.StatusBadRequest || strings.TrimSpace(body) != `{"error":["`+c.want+`"]}` {
			t.Errorf("PUT %s %s: %d %s, want 400 %s", c.target, c.body, code, body, c.want)
		}
		if calls := rs.recordedCalls(); len(calls) != 0 {
			t.Errorf("PUT %s %s: the shard was asked %v", c.target, c.body, calls)
		}
	}
	// A wrapped item whose outer and inner ids differ: the shard would
	// create the inner one, so it must be the one checked, and agree.
	for _, b := range []string{`{"id":"alice","raw_data":{"id":"../x"}}`, `{"id":"alice","raw_data":{"id":"bob"}}`, `{"raw_data":{"id":7}}`} {
		code, body := wireAs(t, addr, "POST", "/data/users", writeToken, b)
		if code != http.StatusBadRequest {
			t.Errorf("POST /data/users %s: %d %s, want 400", b, code, body)
		}
		if calls := rs.recordedCalls(); len(calls) != 0 {
			t.Errorf("POST /data/users %s: the shard was asked %v", b, calls)
		}
	}
	if code, body := wireAs(t, addr, "PUT", "/roles/web", writeToken, `{"description":"x"}`); code != http.StatusOK {
		t.Errorf("PUT /roles/web without a name: %d %s, want 200", code, body)
	}
	calls := rs.recordedCalls()
	if len(calls) == 0 || calls[0] != "PUT /organizations/acme/roles/web" {
		t.Errorf("PUT /roles/web without a name: the shard saw %v", calls)
	}
}

// A repair applies only what the server's own plan calls for: an action
// list naming other shards, another source copy, other objects, hostile
// names or its own object body is skipped whole, and nothing is written.
// The copy a repair writes is always the majority shard's, never the
// caller's.
func TestRepairAppliesOnlyThePlan(t *testing.T) {
	f := startWriteFleet(t)
	role := f.onShard(t, 0, shards.Roles, "db")
	stale := f.onShard(t, 2, shards.Roles, "db")["description"]
	role["description"] = "v2"
	f.proxies[2].down.Store(true)
	if a := f.do(t, "wtok", "PUT", "/roles/db", role); a.status != 207 {
		t.Fatalf("PUT role with a shard stopped: %d %v, want 207", a.status, a.body)
	}
	f.proxies[2].down.Store(false)
	plan := f.do(t, "wtok", "GET", "/v1/consistency/repair", nil)
	acts, _ := plan.body["actions"].([]any)
	if plan.status != 200 || len(acts) != 1 {
		t.Fatalf("repair plan: %d %v", plan.status, plan.body)
	}
	genuine := acts[0].(map[string]any)
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range genuine {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	hostile := []map[string]any{
		with("update", []string{"chef-1", "chef-2", "chef-3"}),
		with("update", []string{"evil"}),
		with("from", "chef-3"),
		with("hash", "0000"),
		with("delete", []string{"chef-1", "chef-2"}),
		with("create", []string{"chef-3"}),
		with("name", "../../users/pivotal"),
		with("name", "web"),
		with("kind", "client"),
		with("kind", "node"),
		with("kind", "cookbook_version"),
		{"kind": "role", "name": "db", "delete": []string{"chef-1", "chef-2", "chef-3"}},
		{"kind": "data_bag_item", "name": "users/../../x", "from": "chef-1", "create": []string{"chef-2"}},
	}
	for _, h := range hostile {
		rep := f.do(t, "wtok", "POST", "/v1/consistency/repair", map[string]any{"actions": []any{h}})
		applied, _ := rep.body["applied"].([]any)
		skipped, _ := rep.body["skipped"].([]any)
		if rep.status != 200 || len(applied) != 0 || len(skipped) != 1 {
			t.Errorf("repair with %v: %d %v, want it skipped", h, rep.status, rep.body)
		}
		if d := f.onShard(t, 2, shards.Roles, "db")["description"]; d != stale {
			t.Fatalf("repair with %v changed chef-3's role db to %v", h, d)
		}
		for i := 0; i < 3; i++ {
			if f.onShard(t, i, shards.Roles, "db") == nil {
				t.Fatalf("repair with %v deleted role db from shard %d", h, i)
			}
		}
	}
	if n := strings.Count(f.logText(), "repair_applied=0 repair_skipped=1"); n != len(hostile) {
		t.Errorf("%d audit lines for %d refused repairs:\n%s", n, len(hostile), f.logText())
	}
	// The genuine action with a body of the caller's own: the majority copy
	// is written, not the caller's. Listed many times, it is applied once.
	before := f.proxies[2].seen.Load()
	f.do(t, "wtok", "GET", "/v1/consistency/repair", nil)
	planning := f.proxies[2].seen.Load() - before
	before = f.proxies[2].seen.Load()
	evil := with("object", map[string]any{"name": "db", "description": "evil"})
	list := []any{evil}
	for range 50 {
		list = append(list, genuine)
	}
	rep := f.do(t, "wtok", "POST", "/v1/consistency/repair", map[string]any{"actions": list})
	applied, _ := rep.body["applied"].([]any)
	skipped, _ := rep.body["skipped"].([]any)
	if rep.status != 200 || len(applied) != 1 || len(skipped) != 50 {
		t.Fatalf("genuine repair listed 51 times: %d, %d applied, %d skipped, want 1 and 50", rep.status, len(applied), len(skipped))
	}
	// chef-3 is asked for its inventory (the plan) and written once.
	if n := f.proxies[2].seen.Load() - before; n != planning+1 {
		t.Errorf("chef-3 saw %d requests for one repair of one role, want %d to plan and 1 write", n, planning)
	}
	for i := 0; i < 3; i++ {
		if d := f.onShard(t, i, shards.Roles, "db")["description"]; d != "v2" {
			t.Errorf("after repair, shard %d role db description %v, want the majority's v2", i, d)
		}
	}
}

// A write or repair body over server.max_body_bytes is a 413 before any
// shard is asked.
func TestWriteBodiesAreBounded(t *testing.T) {
	rs := newRecordingShard(t)
	s := writerServer(t, rs)
	s.Limits.MaxBodyBytes = 4 << 10
	srv := httptest.NewServer(s)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	big := strings.Repeat(`{"kind":"role","name":"db"},`, 1000)
	for _, c := range []struct{ method, target, body string }{
		{"POST", "/v1/consistency/repair", `{"actions":[` + big + `{}]}`},
		{"PUT", "/roles/web", `{"x":[` + big + `{}]}`},
		{"POST", "/nodes", `{"name":"web-01","x":[` + big + `{}]}`},
		{"POST", "/data/users", `{"id":"alice","x":[` + big + `{}]}`},
	} {
		code, body := wireAs(t, addr, c.method, c.target, writeToken, c.body)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "server.max_body_bytes") {
			t.Errorf("%s %s with a %d-byte body: %d %s, want 413", c.method, c.target, len(c.body), code, body)
		}
		if calls := rs.recordedCalls(); len(calls) != 0 {
			t.Errorf("%s %s: the shard was asked %v", c.method, c.target, calls)
		}
	}
}
