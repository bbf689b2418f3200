package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The rollout, pins and cookbook routes: a hostile index, cookbook name
// or stack is a 4xx and never shapes a shard path; attribute paths and
// values travel only in a search body or query string; without
// credentials nothing is answered.
func TestRolloutRoutesKeepToTheOrg(t *testing.T) {
	rs := newRecordingShard(t)
	srv := httptest.NewServer(writerServer(t, rs))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	const readToken = "Authorization: Bearer rtok\r\n"
	for _, target := range []string{"/v1/rollout/node?attr=version&want=1", "/v1/environments/pins", "/cookbooks", "/cookbooks/nginx",
		"/organizations/acme/cookbooks?num_versions=all", "/v1/facets/node?attr=name&by=chef_environment", "/v1/facets/node?attr=name&by=shard"} {
		code, body := wireAs(t, addr, "GET", target, readToken, "")
		// The recording shard answers any list with a generic body, which
		// is no cookbook listing: a cookbook route may fail on it (502),
		// but must have passed auth and reached the shard.
		if code != http.StatusOK && !(code == http.StatusBadGateway && strings.Contains(target, "/cookbooks")) {
			t.Errorf("GET %s: %d %s", target, code, body)
		}
		if code, _ := wireAs(t, addr, "GET", target, "", ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", target, code)
		}
	}
	if calls := rs.recordedCalls(); len(calls) == 0 {
		t.Fatal("the routes reached no shard: the harness cannot see a forwarded request")
	}
	sent := 0
	for _, name := range append(hostileNames, "..", "a/..") {
		for _, target := range []string{"/v1/rollout/" + name + "?attr=a&want=b", "/cookbooks/" + name, "/organizations/acme/cookbooks/" + name,
			"/v1/environments/pins?stack=" + name, "/cookbooks?stack=" + name, "/v1/rollout/node?attr=a&want=b&stack=" + name} {
			sent++
			if code, body := wireAs(t, addr, "GET", target, readToken, ""); code < 400 || code > 499 {
				t.Errorf("GET %s: %d %s, want a 4xx", target, code, body)
			}
		}
		for _, target := range []string{"/v1/rollout/node?attr=" + name + "&want=" + name + "&by=" + name,
			"/v1/facets/node?attr=name&by=" + name, "/cookbooks?num_versions=" + name} {
			sent++
			wireAs(t, addr, "GET", target, readToken, "")
		}
	}
	for _, c := range []string{"/v1/rollout/node?attr=a&want=b&stale=-1h", "/v1/rollout/node?attr=a&want=b&stale=x",
		"/v1/rollout/node?attr=a&want=b&max_lagging=0", "/v1/rollout/node?attr=a", "/v1/rollout/node?attr=a..b&want=1",
		"/v1/facets/node?attr=a&by=a..b", "/cookbooks?num_versions=-1"} {
		if code, body := wireAs(t, addr, "GET", c, readToken, ""); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", c, code, body)
		}
	}
	for _, c := range rs.recordedCalls() {
		if !shardCallOK(c) || !strings.HasPrefix(c, "GET ") && !strings.HasPrefix(c, "POST /organizations/acme/search/") {
			t.Errorf("a rollout route asked the shard %s", c)
		}
	}
	t.Logf("%d hostile requests", sent)
}
