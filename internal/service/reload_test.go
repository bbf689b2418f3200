package service_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
)

// authYAML writes a shard key, a tokens file and a keys folder, and
// returns a config using them with the given extra auth lines.
func authYAML(t *testing.T, tokens string, extra string) (yaml, tokensFile string) {
	t.Helper()
	dir := t.TempDir()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "admin.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	keys := filepath.Join(dir, "keys")
	os.Mkdir(keys, 0o700)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	os.WriteFile(filepath.Join(keys, "alice.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
	tokensFile = filepath.Join(dir, "tokens")
	os.WriteFile(tokensFile, []byte(tokens), 0o600)
	yaml = fmt.Sprintf("auth:\n  tokens_file: %s\n  chef_keys_dir: %s\n%sshards:\n  static:\n    - name: chef-1\n      url: http://127.0.0.1:1\n      stack: prod\n      client_key: %s\n",
		tokensFile, keys, extra, keyFile)
	return yaml, tokensFile
}

func statusWith(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/shards", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// SIGHUP re-reads the tokens file: a new token works, a removed one stops,
// and a broken file keeps the tokens in force.
func TestSIGHUPReloadsTokens(t *testing.T) {
	yaml, tokensFile := authYAML(t, "old-token\n", "  writers: [alice]\n")
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Server)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc.ReloadOn(ctx, syscall.SIGHUP)
	if got := statusWith(t, srv.URL, "old-token"); got != 200 {
		t.Fatalf("old token before reload: %d", got)
	}
	if got := statusWith(t, srv.URL, "new-token"); got != 401 {
		t.Fatalf("new token before reload: %d", got)
	}
	os.WriteFile(tokensFile, []byte("new-token write\n"), 0o600)
	hup := func(until func() bool) bool {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if until() {
				return true
			}
		}
		return false
	}
	if !hup(func() bool { return statusWith(t, srv.URL, "new-token") == 200 }) {
		t.Fatal("the new token is still refused 5s after SIGHUP")
	}
	if got := statusWith(t, srv.URL, "old-token"); got != 401 {
		t.Fatalf("a removed token after SIGHUP: %d", got)
	}
	// A broken file: the reload fails, new-token keeps working.
	os.WriteFile(tokensFile, []byte("x y z\n"), 0o600)
	if err := svc.Reload(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("reload of a broken tokens file: %v", err)
	}
	if got := statusWith(t, srv.URL, "new-token"); got != 200 {
		t.Fatalf("after a failed reload: %d", got)
	}
}

// Auth mistakes in the config stop Shearch with one line naming them.
func TestAuthConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		tokens, extra, want string
	}{
		{"", "", "holds no token"},
		{"t\n", "  writers: ['']\n", "auth.writers[0] is empty"},
		{"t\n", "  reader: [bob]\n", `unknown key "reader"`},
	} {
		yaml, _ := authYAML(t, tc.tokens, tc.extra)
		cfg, err := config.Parse([]byte(yaml))
		if err == nil {
			_, err = service.New(cfg, nil)
		}
		var ce *service.ConfigError
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line containing %q, got %v", tc.extra, tc.want, err)
		} else if !strings.Contains(tc.want, "unknown key") && !errors.As(err, &ce) {
			t.Errorf("%q: want a ConfigError (exit 2), got %T", tc.extra, err)
		}
	}
}
