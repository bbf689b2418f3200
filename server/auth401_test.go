package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/knife"
	"github.com/shearch/shearch/server"
)

// knifeRecording is one request real knife 16.12.3 sent (testdata/chef-auth).
type knifeRecording struct {
	Method, Path, Body string
	Headers            map[string]string
}

func knifeRecordings(t *testing.T) []knifeRecording {
	t.Helper()
	fh, err := os.Open("../testdata/chef-auth/knife-16.12.3-requests.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []knifeRecording
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var k knifeRecording
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

func (k knifeRecording) at(t *testing.T) time.Time {
	ts, err := time.Parse(time.RFC3339, k.Headers["X-Ops-Timestamp"])
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// send replays k against base, with path and body as given, and returns
// the status, the body and the X-Request-Id answered.
func (k knifeRecording) send(t *testing.T, base, path, body string, change func(http.Header)) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(k.Method, base+path, strings.NewReader(body))
	for h, v := range k.Headers {
		switch h {
		case "Host", "Content-Length", "Connection", "Accept-Encoding":
		default:
			req.Header.Set(h, v)
		}
	}
	if change != nil {
		change(req.Header)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("X-Request-Id")
}

// A 401 tells a stranger nothing: an unknown user, a wrong key, a changed
// body and a changed path get the very same body, Chef Server's, apart
// from the name sent; knife prints it as "Failed to authenticate"; and
// only the server log says what really failed, under the request id.
func TestAuthFailuresLookAlike(t *testing.T) {
	f := startFleet(t)
	k := knifeRecordings(t)[0] // POST /organizations/acme/search/node, partial, protocol 1.1
	now := k.at(t).Add(time.Minute)
	alicePub, err := os.ReadFile("../testdata/chef-auth/alice.pem")
	if err != nil {
		t.Fatal(err)
	}
	// One Shearch knows alice's real key, the other a key of its own
	// for alice (knife's key is the wrong one there); bob is nobody.
	logs := &syncBuffer{}
	serve := func(pub []byte) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "alice.pem"), pub, 0o600)
		os.WriteFile(filepath.Join(dir, "tokens"), []byte("some-token\n"), 0o600)
		a, err := auth.New(auth.Options{ChefKeysDir: dir, TokensFile: filepath.Join(dir, "tokens"), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		s := server.New(f.engine, slog.New(slog.NewTextHandler(logs, nil)))
		s.Auth = a
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	right := serve(alicePub)
	wrong := serve(newChefUser(t, "alice").public)

	path, _, _ := strings.Cut(k.Path, "?")
	query := k.Path[len(path):]
	if code, body, _ := k.send(t, right, k.Path, k.Body, nil); code != 200 {
		t.Fatalf("knife's own request: %d %s", code, body)
	}
	cases := []struct {
		what, base, path, body, name, reason string
		change                               func(http.Header)
	}{
		{"unknown user", right, k.Path, k.Body, "bob", `unknown user \"bob\": no key bob.pem`, func(h http.Header) { h.Set("X-Ops-Userid", "bob") }},
		{"wrong key", wrong, k.Path, k.Body, "alice", "does not verify", nil},
		{"changed body", right, k.Path, `{"__display_name":["ipaddress"]}`, "alice", "X-Ops-Content-Hash does not match", nil},
		{"changed path", right, strings.Replace(path, "/search/node", "/search/role", 1) + query, k.Body, "alice", "does not verify", nil},
		{"missing signature line", right, k.Path, k.Body, "alice", "X-Ops-Authorization-3 is missing", func(h http.Header) { h.Del("X-Ops-Authorization-3") }},
	}
	var first string
	for _, tc := range cases {
		code, body, id := k.send(t, tc.base, tc.path, tc.body, tc.change)
		want := `{"error":["Failed to authenticate as '` + tc.name + `'. Ensure that your node_name and client key are correct."]}` + "\n"
		if code != 401 || body != want {
			t.Fatalf("%s: %d %q, want 401 %q", tc.what, code, body, want)
		}
		same := strings.Replace(body, "'"+tc.name+"'", "'NAME'", 1)
		if first == "" {
			first = same
		} else if same != first {
			t.Fatalf("%s: the 401 body %q differs from %q apart from the name", tc.what, same, first)
		}
		// What knife prints for it: knife search's own line, and
		// humanize_http_exception's for every other command.
		if got := string(knife.SearchFailed([]byte(body))); !strings.HasPrefix(got, "ERROR: knife search failed: Failed to authenticate as '"+tc.name+"'") {
			t.Fatalf("%s: knife search would print %q", tc.what, got)
		}
		got := string(knife.HTTPError(401, "Unauthorized", []byte(body), "https://shearch/organizations/acme", tc.name, "/home/"+tc.name+"/.chef/"+tc.name+".pem"))
		if !strings.Contains(got, "ERROR: Failed to authenticate to https://shearch/organizations/acme as "+tc.name) ||
			!strings.Contains(got, "Response:  Failed to authenticate as '"+tc.name+"'. Ensure that your node_name and client key are correct.") {
			t.Fatalf("%s: knife would print %q", tc.what, got)
		}
		// The log has the reason, under the request id the caller got.
		line := ""
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "request_id="+id) && strings.Contains(l, "authentication failed") {
				line = l
			}
		}
		if id == "" || !strings.Contains(line, tc.reason) {
			t.Fatalf("%s: no log line with request_id=%s and reason %q in:\n%s", tc.what, id, tc.reason, logs.String())
		}
	}
	// A clock out of the window may say so, as Chef Server does: it names
	// no one the caller did not name.
	now = k.at(t).Add(time.Hour)
	code, body, _ := k.send(t, right, k.Path, k.Body, func(h http.Header) { h.Set("X-Ops-Userid", "bob") })
	if code != 401 || !strings.Contains(body, "Failed to authenticate as 'bob'. Synchronize the clock on your host") {
		t.Fatalf("stale timestamp: %d %s", code, body)
	}
	// Tokens: missing and unknown answer alike, naming no file.
	var tokenBodies []string
	for _, h := range []string{"", "Bearer not-a-token", "Basic YTpi"} {
		req, _ := http.NewRequest("GET", right+"/v1/search/node", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 401 || !strings.HasPrefix(string(b), `{"error":["Failed to authenticate: no valid credentials`) || strings.Contains(string(b), "auth.") {
			t.Fatalf("Authorization %q: %d %s", h, res.StatusCode, b)
		}
		tokenBodies = append(tokenBodies, string(b))
	}
	if tokenBodies[0] != tokenBodies[1] || tokenBodies[1] != tokenBodies[2] {
		t.Fatalf("missing, unknown and non-bearer credentials answer differently: %q", tokenBodies)
	}
}
