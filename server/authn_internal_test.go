package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shearch/shearch/internal/auth"
)

// The handlers see who called; write handlers refuse readers with a
// Chef-style 403; probes stay open.
func TestCallerAndWriteScope(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(f, []byte("reader\nwriter write\n"), 0o600)
	a, err := auth.New(auth.Options{TokensFile: f})
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil, nil)
	s.Auth = a
	s.mux.HandleFunc("GET /test/whoami", func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.FromContext(r.Context())
		writeJSON(w, 200, map[string]any{"ok": ok, "caller": c})
	})
	s.mux.HandleFunc("PUT /test/write", func(w http.ResponseWriter, r *http.Request) {
		if requireWrite(w, r) {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(method, path, token string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := do("GET", "/test/whoami", "reader")
	var who struct {
		OK     bool
		Caller auth.Caller
	}
	json.Unmarshal([]byte(body), &who)
	if code != 200 || !who.OK || who.Caller.Method != "token" || who.Caller.Write || !strings.HasPrefix(who.Caller.Name, "token:") {
		t.Fatalf("whoami as reader: %d %s", code, body)
	}
	if code, body := do("PUT", "/test/write", "reader"); code != 403 || !strings.Contains(body, `{"error":["token:`) || !strings.Contains(body, "TOKEN write") {
		t.Fatalf("write as reader: %d %s", code, body)
	}
	if code, body := do("PUT", "/test/write", "writer"); code != 204 {
		t.Fatalf("write as writer: %d %s", code, body)
	}
	if code, body := do("PUT", "/test/write", "nope"); code != 401 || !strings.Contains(body, "Failed to authenticate: no valid credentials") || strings.Contains(body, "tokens_file") {
		t.Fatalf("write with an unknown token: %d %s", code, body)
	}
	if code, body := do("GET", "/healthz", ""); code != 200 {
		t.Fatalf("healthz without credentials: %d %s", code, body)
	}
	if code, body := do("GET", "/metrics", ""); code != 200 || !strings.Contains(body, `code="401"`) {
		t.Fatalf("metrics without credentials, counting the 401: %d %s", code, body)
	}
	// Auth off: everyone reads, no one writes.
	s.Auth = nil
	if code, body := do("GET", "/test/whoami", ""); code != 200 || !strings.Contains(body, `"Method":"none"`) {
		t.Fatalf("whoami with auth off: %d %s", code, body)
	}
	if code, body := do("PUT", "/test/write", ""); code != 403 || !strings.Contains(body, "writes need a caller with write scope") {
		t.Fatalf("write with auth off: %d %s", code, body)
	}
}
