package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// oneNodeServer is a Shearch over one fake shard holding web-01.
func oneNodeServer(t *testing.T) *server.Server {
	t.Helper()
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fakeshard.FromFixture(&devfleet.Fixture{Nodes: []devfleet.Object{{"name": "web-01", "chef_environment": "prod",
		"json_class": "Chef::Node", "chef_type": "node", "run_list": []any{}, "normal": map[string]any{}, "default": map[string]any{},
		"override": map[string]any{}, "automatic": map[string]any{"ipaddress": "10.0.0.1", "ohai_time": json.Number("1")}}}}, fakeshard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs.Start()
	t.Cleanup(fs.Close)
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards{fs.Config("s0", "prod", key)}})
	return server.New(engine.Over(e), nil)
}

// With public_url empty, the URLs in answers come from the Host and
// X-Forwarded-Proto headers only when a server.trusted_proxies peer sent
// them; from anyone else, from the address the connection reached.
func TestForwardedHeadersTrustedOnlyFromProxies(t *testing.T) {
	s := oneNodeServer(t)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	urls := func() (string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/search/node?q=*:*", strings.NewReader(`{"ip":["ipaddress"]}`))
		req.Host = "evil.example"
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct{ Rows []struct{ URL string } }
		json.NewDecoder(res.Body).Decode(&body)
		req, _ = http.NewRequest("GET", srv.URL+"/nodes", nil)
		req.Host = "evil.example"
		res2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res2.Body.Close()
		list := map[string]string{}
		json.NewDecoder(res2.Body).Decode(&list)
		if len(body.Rows) != 1 {
			t.Fatalf("partial search: %d rows", len(body.Rows))
		}
		return body.Rows[0].URL, list["web-01"]
	}
	row, listed := urls()
	if row != srv.URL+"/nodes/web-01" || listed != srv.URL+"/nodes/web-01" {
		t.Fatalf("an untrusted peer's Host and X-Forwarded-Proto made the URLs %q and %q; want %q", row, listed, srv.URL+"/nodes/web-01")
	}
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	if row, listed := urls(); row != "https://evil.example/nodes/web-01" || listed != "http://evil.example/nodes/web-01" {
		t.Fatalf("a trusted proxy's headers: %q and %q", row, listed)
	}
}

// /v1/shards shows no credentials a static shard URL carries, neither in
// the URL nor in a last error that quotes it.
func TestShardsRedactsCredentials(t *testing.T) {
	list := search.StaticShards{{Name: "chef-1", Stack: "prod", URL: "https://svc:s3cret-pw@chef-1.example/organizations/acme?token=s3cret-tok"}}
	s := server.New(engine.Over(search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: list})), nil)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	get := func() string {
		res, err := http.Get(srv.URL + "/v1/shards")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	for _, topo := range []func() any{nil, func() any {
		return api.Topology{Shards: []api.TopologyShard{{Name: "chef-1", URL: list[0].URL,
			LastError: `Get "https://svc:s3cret-pw@chef-1.example/organizations/acme/search/node": connection refused`}}}
	}} {
		s.Topology = topo
		body := get()
		if strings.Contains(body, "s3cret") || strings.Contains(body, "svc") || !strings.Contains(body, "https://REDACTED@chef-1.example/organizations/acme") {
			t.Fatalf("GET /v1/shards shows credentials or no redacted URL: %s", body)
		}
	}
}

// server.metrics_auth: none leaves /metrics open to scrapers, token makes
// it need credentials like the API.
func TestMetricsAuth(t *testing.T) {
	s := oneNodeServer(t)
	f := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(f, []byte("scraper\n"), 0o600)
	a, err := auth.New(auth.Options{TokensFile: f})
	if err != nil {
		t.Fatal(err)
	}
	s.Auth = a
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	get := func(token string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, mode := range []string{"", "none"} {
		s.MetricsAuth = mode
		if got := get(""); got != 200 {
			t.Fatalf("metrics_auth %q without a token: %d", mode, got)
		}
	}
	s.MetricsAuth = "token"
	if got := get(""); got != 401 {
		t.Fatalf("metrics_auth token without a token: %d", got)
	}
	if got := get("scraper"); got != 200 {
		t.Fatalf("metrics_auth token with a token: %d", got)
	}
}
