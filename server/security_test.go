package server_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// Names made to escape the shard's org: encoded dots and slashes,
// backslashes, NULs, double encodings.
var hostileNames = []string{
	"..%2F..%2Fusers", "..%2f..%2f..%2fusers", "%2e%2e", "%2E%2E%2Fusers", "%2e", "..%2F", "%2F", "a%2Fb",
	"..%5C..%5Cusers", "%5Cusers", "a%5Cb", `..\users`, "a%00b", "%00", "..%00", "%252e%252e%252fusers",
	"..%252F..%252Fusers", "%25", "users%3Fq%3D1", "x%23y", "%2e%2e%3Bx", "..;", "%C0%AE%C0%AE",
	"%u002e%u002e", "web-01%2F..%2F..%2Fusers", "%2e%2e%2f%2e%2e%2fusers%2fpivotal",
}

// hostileTargets is every Chef-compatible and native endpoint, with and
// without the org prefix and the /stacks/{stack} prefix, with name in
// each name position.
func hostileTargets(name string) (get, post []string) {
	for _, pre := range []string{"", "/organizations/acme", "/stacks/prod", "/stacks/prod/organizations/acme"} {
		get = append(get,
			pre+"/search/"+name, pre+"/search/"+name+"?q=*:*",
			pre+"/nodes/"+name, pre+"/roles/"+name, pre+"/environments/"+name, pre+"/environments/"+name+"/nodes",
			pre+"/clients/"+name, pre+"/data/"+name, pre+"/data/"+name+"/item", pre+"/data/users/"+name,
		)
		post = append(post, pre+"/search/"+name)
	}
	get = append(get, "/v1/search/"+name, "/v1/nodes/"+name, "/organizations/"+name+"/nodes",
		"/organizations/"+name+"/search/node", "/organizations/"+name+"/nodes/web-01",
		"/stacks/prod/v1/search/"+name, "/stacks/prod/organizations/"+name+"/nodes/web-01")
	post = append(post, "/v1/search/"+name, "/organizations/"+name+"/search/node", "/stacks/prod/v1/search/"+name)
	return get, post
}

// hostileStackTargets put name where /stacks/ takes a stack or a shard:
// never a shard's business, always a 4xx.
func hostileStackTargets(name string) []string {
	return []string{"/stacks/" + name + "/nodes/web-01", "/stacks/" + name + "/search/node", "/stacks/" + name + "/v1/search/node",
		"/stacks/" + name + "/organizations/acme/nodes", "/stacks/prod/shards/" + name + "/nodes/web-01", "/stacks/" + name,
		"/stacks/" + name + "/", "/stacks/prod/shards/" + name}
}

// wire sends one request as raw bytes on a fresh connection, so nothing
// on the client side cleans or re-encodes the target.
func wire(t *testing.T, addr, method, target, body string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	raw := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		"Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b := new(strings.Builder)
	bufio.NewReader(res.Body).WriteTo(b)
	return res.StatusCode, b.String()
}

// Every hostile name through every endpoint is a 4xx, and the shard never
// sees a path outside the org's read endpoints.
func TestHostileNamesNeverLeaveTheOrg(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(fakeShardServer(t, shards.Shard{Name: "chef-1", URL: rs.srv.URL + "/organizations/acme"}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	// The same endpoints with good names reach the shard: the harness
	// can see a forwarded request.
	get, post := hostileTargets("web-01")
	for _, target := range get {
		if code, body := wire(t, addr, "GET", target, ""); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", target, code, body)
		}
	}
	for _, target := range post {
		if code, body := wire(t, addr, "POST", target, `{"n":["name"]}`); code != http.StatusOK {
			t.Errorf("POST %s: %d %s", target, code, body)
		}
	}
	if n := len(rs.recorded()); n < len(get)+len(post) {
		t.Fatalf("good names reached the shard %d times for %d requests", n, len(get)+len(post))
	}

	sent := 0
	for _, name := range hostileNames {
		get, post := hostileTargets(name)
		for _, m := range []struct {
			method  string
			targets []string
		}{{"GET", get}, {"POST", append(post, get...)}} {
			for _, target := range m.targets {
				sent++
				code, body := wire(t, addr, m.method, target, `{"n":["name"]}`)
				if code < 400 || code > 499 {
					t.Errorf("%s %s: %d %s, want a 4xx", m.method, target, code, body)
				}
			}
		}
	}
	for _, name := range append(hostileNames, "..", ".", "", "All", "all", "prod%2Fx") {
		for _, target := range hostileStackTargets(name) {
			for _, method := range []string{"GET", "POST"} {
				sent++
				if code, body := wire(t, addr, method, target, `{"n":["name"]}`); code < 400 || code > 499 {
					t.Errorf("%s %s: %d %s, want a 4xx", method, target, code, body)
				}
			}
		}
	}
	for _, target := range []string{"/search/node?shards=..%2Fusers", "/search/node?stack=..%2F..%2Fusers", "/search/node?q=*:*&rows=-1",
		"/stacks/prod/search/node?stack=dev", "/stacks/prod/nodes?stack=..%2Fusers",
		"/v1/consistency?stack=..%2Fusers", "/nodes?stack=%2e%2e", "/v1/search/node?shards=chef-1%00"} {
		sent++
		if code, body := wire(t, addr, "GET", target, ""); code < 400 || code > 499 {
			t.Errorf("GET %s: %d %s, want a 4xx", target, code, body)
		}
	}
	for _, p := range rs.recorded() {
		if !shardPathRE.MatchString(p) {
			t.Errorf("the shard was asked for %s", p)
		}
	}
	t.Logf("%d hostile requests, all 4xx", sent)
}

// The 400 names the rule, in Chef's error shape.
func TestNameErrorNamesTheRule(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(fakeShardServer(t, shards.Shard{Name: "chef-1", URL: rs.srv.URL + "/organizations/acme"}))
	defer srv.Close()
	code, body := wire(t, strings.TrimPrefix(srv.URL, "http://"), "GET", "/nodes/..%2F..%2Fusers", "")
	want := `{"error":["invalid node name \"../../users\": Chef node names are 1-255 characters of letters, digits, _ - . : (and never . or ..)"]}`
	if code != http.StatusBadRequest || strings.TrimSpace(body) != want {
		t.Fatalf("%d %s", code, body)
	}
	if p := rs.recorded(); len(p) != 0 {
		t.Fatalf("the shard was asked %v", p)
	}
}

// FuzzRequestPaths: whatever method, path, name and body name a caller
// with write scope sends to any endpoint, the shard is asked only for the
// org's read endpoints and the write forms of nodes, roles, environments
// and data bags; a name Chef Server would refuse is never a 2xx, and a
// create never reaches a shard with such a name in its body.
func FuzzRequestPaths(f *testing.F) {
	for _, n := range append(hostileNames, "web-01", "users", "..", "%2e%2e/%2e%2e") {
		f.Add("GET", "/nodes/", n, "web-01")
		f.Add("POST", "/search/", n, "web-01")
		f.Add("GET", "/organizations/acme/data/users/", n, "web-01")
		f.Add("GET", "/v1/search/", n, "web-01")
		f.Add("PUT", "/roles/", n, n)
		f.Add("DELETE", "/organizations/acme/data/", n, "")
		f.Add("POST", "/data/", n, "item")
		f.Add("GET", "/v1/facets/", n, "")
		f.Add("GET", "/v1/export/node?format=csv&attr=", n, "")
		f.Add("GET", "/ui/static/", n, "")
		f.Add("GET", "/stacks/", n, "")
		f.Add("PUT", "/stacks/", n+"/nodes/web-01", "web-01")
		f.Add("DELETE", "/stacks/prod/shards/", n, "")
		f.Add("PUT", "/stacks/prod/shards/chef-1/nodes/", n, "web-01")
		f.Add("POST", "/stacks/prod/organizations/acme/search/", n, "")
		f.Add("POST", "/stacks/prod/v1/consistency/", "repair?stack="+n, "prod")
		// The bounds of issue 20: rows, facets, the drift scan.
		f.Add("GET", "/search/node?rows=", n, "")
		f.Add("POST", "/v1/search/node?rows=", n, "")
		f.Add("GET", "/v1/facets/node?attr=", n, "")
		f.Add("GET", "/v1/consistency?stack=", n, "")
		f.Add("GET", "/v1/consistency/repair?stack=", n, "")
	}
	for _, rows := range []string{"10000", "10001", "100000000", "99999999999999999999", "-1", "1e9", " 5"} {
		f.Add("GET", "/search/node?q=*:*&rows=", rows, "")
		f.Add("GET", "/v1/search/node?rows=", rows, "")
		f.Add("GET", "/stacks/prod/search/node?rows=", rows, "")
	}
	for _, bn := range append(hostileBodyNames, "web-01") {
		f.Add("POST", "/", "nodes", bn)
		f.Add("POST", "/organizations/acme/", "roles", bn)
		f.Add("POST", "/data/", "users", bn)
		f.Add("PUT", "/nodes/", "web-01", bn)
		f.Add("POST", "/v1/consistency/", "repair", bn)
		f.Add("POST", "/stacks/prod/", "data", bn)
		f.Add("PUT", "/stacks/prod/shards/chef-1/nodes/", "web-01", bn)
		f.Add("POST", "/v1/consistency/repair?", "stack=prod", bn) // bn is the body's stack
	}
	rs := newRecordingShard(f)
	h := writerServer(f, rs)
	f.Fuzz(func(t *testing.T, method, prefix, name, bodyName string) {
		switch method {
		case "GET", "POST", "PUT", "DELETE":
		default:
			method = "POST"
		}
		bn, _ := json.Marshal(bodyName)
		body := `{"n":["name"],"name":` + string(bn) + `,"id":` + string(bn) + `,"actions":[{"kind":"role","name":` + string(bn) + `,"update":["chef-1"]}]`
		if strings.Contains(prefix+name, "stack") {
			// A repair names its stack in the body too (the signed place
			// for Chef-signed callers).
			body += `,"stack":` + string(bn)
		}
		body += `}`
		req, ok := rawRequest(method, prefix+name, body)
		if !ok {
			return // net/http's server answers 400 itself
		}
		req.Header.Set("Authorization", "Bearer wtok")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, c := range rs.recordedCalls() {
			if !shardCallOK(c) {
				t.Fatalf("%s %s%s: the shard was asked %s", method, prefix, name, c)
			}
			if shardCreateRE.MatchString(c) && !chefNameRE.MatchString(bodyName) {
				t.Fatalf("%s %s%s with body name %q: the shard was asked %s", method, prefix, name, bodyName, c)
			}
		}
		// A page past search.max_rows is never served.
		if n, err := strconv.Atoi(req.URL.Query().Get("rows")); err == nil && n > search.DefaultMaxRows && rec.Code < 300 &&
			strings.Contains(req.URL.Path, "search/") && req.Header.Get("Accept") == "" {
			t.Fatalf("%s %s%s: %d for rows=%d", method, prefix, name, rec.Code, n)
		}
		// A decoded name Chef Server refuses must not be answered 2xx.
		if rec.Code < 300 {
			for _, seg := range strings.Split(req.URL.Path, "/") {
				if seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00%") {
					t.Fatalf("%s %s%s: %d for segment %q", method, prefix, name, rec.Code, seg)
				}
			}
		}
	})
}

// shardCreateRE is a create on the shard: the new object's name is in the
// body, so the body's name must follow Chef Server's rule.
var shardCreateRE = regexp.MustCompile(`^POST /organizations/acme/(nodes|roles|environments|data|data/[^/]+)$`)

// chefNameRE is Chef Server's rule for node, role, data bag and item names.
var chefNameRE = regexp.MustCompile(`^(?:[.A-Za-z0-9_:-]{3,255}|[A-Za-z0-9_:-][.A-Za-z0-9_:-]?|\.[A-Za-z0-9_:-])$`)
