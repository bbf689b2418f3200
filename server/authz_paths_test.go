package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// No path trick, method trick or probe path lets a caller past auth, or
// a read-only caller write: every such request is a 4xx and the shard is
// asked nothing.
func TestAuthCannotBeSidestepped(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(writerServer(t, rs))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	const readToken = "Authorization: Bearer rtok\r\n"
	for _, c := range []struct{ method, target, headers string }{
		// No credentials at all.
		{"GET", "//search/node", ""},
		{"GET", "//nodes", ""},
		{"GET", "/organizations/x/../search/node", ""},
		{"GET", "/organizations/acme/./nodes", ""},
		{"GET", "/healthz/../nodes", ""},
		{"GET", "/healthz/%2e%2e/nodes", ""},
		{"GET", "/healthz%2F..%2Fnodes", ""},
		{"GET", "/healthz/", ""},
		{"GET", "/readyz/../v1/shards", ""},
		{"GET", "/metrics/../v1/consistency", ""},
		{"GET", "/metrics%2F..%2Fv1%2Fshards", ""},
		{"GET", "/v1/shards", ""},
		{"GET", "/v1/consistency/repair", ""},
		{"HEAD", "/nodes", ""},
		{"HEAD", "/v1/search/node", ""},
		{"OPTIONS", "/nodes", ""},
		{"TRACE", "/nodes", ""},
		{"GET", "/nodes", "X-HTTP-Method-Override: GET\r\n"},
		{"GET", "/nodes", "Authorization: Bearer\r\n"},
		{"GET", "/nodes", "Authorization: Bearer \r\n"},
		{"GET", "/nodes", "Authorization: Basic cnRvazo=\r\n"},
		{"GET", "/nodes", "X-Ops-Userid: admin\r\n"},
		{"GET", "/nodes", "Authorization: Bearer rtok\x00\r\n"},
		// A read-only token trying to write.
		{"PUT", "//nodes/web-01", readToken},
		{"PUT", "/nodes/web-01", readToken},
		{"POST", "/nodes/web-01", readToken + "X-HTTP-Method-Override: PUT\r\n"},
		{"POST", "/roles/web", readToken + "X-HTTP-Method: PUT\r\n"},
		{"DELETE", "/organizations/acme/../roles/web", readToken},
		{"DELETE", "/organizations/acme/roles/web", readToken},
		{"POST", "/v1/consistency/repair", readToken},
		{"PATCH", "/nodes/web-01", readToken},
		{"PUT", "/nodes/web-01", "Authorization: bearer rtok\r\n"},
	} {
		code, body := wireAs(t, addr, c.method, c.target, c.headers, `{"name":"web-01"}`)
		if code < 400 || code > 499 {
			t.Errorf("%s %s (%q): %d %s, want a 4xx", c.method, c.target, c.headers, code, body)
		}
		if calls := rs.recordedCalls(); len(calls) != 0 {
			t.Errorf("%s %s (%q): the shard was asked %v", c.method, c.target, c.headers, calls)
		}
	}
	// A method override header is ignored: the GET stays a read.
	code, body := wireAs(t, addr, "GET", "/nodes/web-01", readToken+"X-HTTP-Method-Override: DELETE\r\nX-Method-Override: DELETE\r\n", "")
	if calls := rs.recordedCalls(); code != http.StatusOK || len(calls) != 1 || calls[0] != "GET /organizations/acme/nodes/web-01" {
		t.Errorf("GET with X-HTTP-Method-Override: DELETE: %d %s; the shard saw %v", code, body, calls)
	}
	// net/http answers OPTIONS * itself, with no body and nothing asked.
	if code, body := wireAs(t, addr, "OPTIONS", "*", "", ""); code != http.StatusOK || body != "" || len(rs.recordedCalls()) != 0 {
		t.Errorf("OPTIONS *: %d %q", code, body)
	}
	// The probes stay open, exactly as named.
	for _, p := range []string{"/healthz", "/metrics"} {
		if code, body := wireAs(t, addr, "GET", p, "", ""); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	// A wrong token is not echoed back, nor a near miss told apart.
	code, body = wireAs(t, addr, "GET", "/nodes", "Authorization: Bearer rtok-guess-1234\r\n", "")
	code2, body2 := wireAs(t, addr, "GET", "/nodes", "Authorization: Bearer x\r\n", "")
	if code != http.StatusUnauthorized || strings.Contains(body, "rtok-guess-1234") || code2 != code || body2 != body {
		t.Errorf("wrong token: %d %s / %d %s, want the same 401 without the token", code, body, code2, body2)
	}
}

// The reporting routes: a hostile index is a 4xx on facets and export,
// hostile attribute paths and formats never shape a shard path, and the
// open /ui/ page lets no path trick reach the API unauthenticated.
func TestReportRoutesKeepToTheOrg(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(writerServer(t, rs))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	const readToken = "Authorization: Bearer rtok\r\n"
	if code, body := wireAs(t, addr, "GET", "/v1/facets/node?attr=name", readToken, ""); code != http.StatusOK {
		t.Fatalf("GET /v1/facets/node: %d %s", code, body)
	}
	if calls := rs.recordedCalls(); len(calls) == 0 {
		t.Fatal("facets reached no shard: the harness cannot see a forwarded request")
	}
	sent := 0
	for _, name := range append(hostileNames, "..", "a/..") {
		for _, target := range []string{"/v1/facets/" + name, "/v1/facets/" + name + "?attr=name", "/v1/export/" + name,
			"/v1/export/" + name + "?format=ndjson", "/v1/facets/node?stack=" + name, "/v1/export/node?shards=" + name} {
			for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
				sent++
				if code, body := wireAs(t, addr, method, target, writeToken, ""); code < 400 || code > 499 {
					t.Errorf("%s %s: %d %s, want a 4xx", method, target, code, body)
				}
			}
		}
		for _, target := range []string{"/v1/facets/node?attr=" + name, "/v1/export/node?attr=" + name + "&format=csv",
			"/v1/export/node?format=" + name} {
			sent++
			wireAs(t, addr, "GET", target, readToken, "")
		}
		// The page is open; nothing under it is the API.
		for _, target := range []string{"/ui/" + name, "/ui/static/" + name, "/ui/static/" + name + "/v1/shards",
			"/ui/static/..%2F..%2Fv1%2Fshards", "/ui/../v1/shards", "/ui/static/../../nodes", "/ui%2F..%2Fnodes"} {
			sent++
			code, body := wireAs(t, addr, "GET", target, "", "")
			if code < 300 && strings.Contains(body, `"shards"`) || code == http.StatusOK && strings.Contains(body, "web-01") {
				t.Errorf("GET %s without credentials: %d %s", target, code, body)
			}
		}
	}
	// Even with a token, no folder of the page's files is listed.
	for _, target := range []string{"/ui/static/", "/ui/static/..%2F", "/ui/static/%2e%2e/", "/ui/static/x/..%2F"} {
		if code, body := wireAs(t, addr, "GET", target, readToken, ""); code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", target, code, body)
		}
	}
	if code, body := wireAs(t, addr, "GET", "/ui/static/app.js", "", ""); code != http.StatusOK {
		t.Errorf("GET /ui/static/app.js: %d %.80s", code, body)
	}
	for _, c := range rs.recordedCalls() {
		if !shardCallOK(c) || !strings.HasPrefix(c, "GET ") && !strings.HasPrefix(c, "POST /organizations/acme/search/") {
			t.Errorf("a report route asked the shard %s", c)
		}
	}
	t.Logf("%d hostile report requests", sent)
}
