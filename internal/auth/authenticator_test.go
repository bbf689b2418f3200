package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t testing.TB, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func bearer(a *Authenticator, tok string) (Caller, error) {
	r := httptest.NewRequest("GET", "/v1/search/node", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return a.Authenticate(r)
}

// A bare token reads, "TOKEN write" writes; the caller's name says which
// token without giving it away.
func TestTokens(t *testing.T) {
	f := writeFile(t, filepath.Join(t.TempDir(), "tokens"), "# readers\nr3ad-0nly\n\n  w1th-wr1te write  \nexplicit read\n")
	a := newAuth(t, Options{TokensFile: f})
	rc, err := bearer(a, "r3ad-0nly")
	if err != nil || rc.Method != "token" || rc.Write || !strings.HasPrefix(rc.Name, "token:") || strings.Contains(rc.Name, "r3ad") {
		t.Fatalf("read-only token: %+v %v", rc, err)
	}
	wc, err := bearer(a, "w1th-wr1te")
	if err != nil || !wc.Write || wc.Name == rc.Name {
		t.Fatalf("write token: %+v %v", wc, err)
	}
	if c, err := bearer(a, "explicit"); err != nil || c.Write {
		t.Fatalf("explicit read token: %+v %v", c, err)
	}
	for _, bad := range []string{"r3ad-0nl", "r3ad-0nly ", "R3AD-0NLY", "w1th-wr1te write", "readers"} {
		_, err := bearer(a, bad)
		if strings.TrimSpace(bad) == "r3ad-0nly" {
			continue // surrounding spaces are not part of a header value
		}
		wantStatus(t, "token "+bad, err, 401, "unknown bearer token")
		if strings.Contains(err.Error(), bad) {
			t.Fatalf("the error repeats the token: %v", err)
		}
	}
	_, err = bearer(a, "")
	wantStatus(t, "no credentials", err, 401, "missing credentials")
	r := httptest.NewRequest("GET", "/nodes", nil)
	r.Header.Set("Authorization", "Basic YTpi")
	_, err = a.Authenticate(r)
	wantStatus(t, "basic auth", err, 401, "not a bearer token")
	// Chef-signed requests need chef_keys_dir.
	k := knifeRequests(t)[0]
	_, err = a.Authenticate(k.request())
	wantStatus(t, "Chef-signed without keys", err, 401, "auth.chef_keys_dir is not set")
}

func TestTokensFileErrors(t *testing.T) {
	dir := t.TempDir()
	for text, words := range map[string]string{
		"":                       "holds no token",
		"# only a comment\n":     "holds no token",
		"abc admin\n":            "line 1: want TOKEN or TOKEN write",
		"abc write extra\n":      "line 1: want TOKEN or TOKEN write",
		"abc\n\nabc write\n":     "line 3: the token of line 1 again",
		"s3cr3t-t0ken wrlte\n":   "line 1",
		"good\n# c\nsecretx 1 2": "line 3",
	} {
		_, err := New(Options{TokensFile: writeFile(t, filepath.Join(dir, "tokens"), text)})
		if err == nil || !strings.Contains(err.Error(), words) {
			t.Fatalf("tokens file %q: want an error saying %q, got %v", text, words, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "secretx") {
			t.Fatalf("the error repeats a token: %v", err)
		}
	}
	_, err := New(Options{TokensFile: filepath.Join(dir, "missing")})
	if err == nil || !strings.Contains(err.Error(), "auth.tokens_file") {
		t.Fatalf("missing tokens file: %v", err)
	}
}

func TestChefKeysDirErrors(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	for name, tc := range map[string]struct {
		files map[string][]byte
		words string
	}{
		"empty":       {map[string][]byte{}, "holds no NAME.pem public key"},
		"private key": {map[string][]byte{"alice": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})}, "alice.pem: is a private key"},
		"not PEM":     {map[string][]byte{"bob": []byte("ssh-rsa AAAA")}, "bob.pem: no PEM block"},
		"EC key":      {map[string][]byte{"carol": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPub})}, "carol.pem: not an RSA key"},
	} {
		_, err := New(Options{ChefKeysDir: keysDir(t, tc.files)})
		if err == nil || !strings.Contains(err.Error(), tc.words) {
			t.Fatalf("%s: want an error saying %q, got %v", name, tc.words, err)
		}
	}
	_, err := New(Options{Writers: []string{"alice"}})
	if err == nil || !strings.Contains(err.Error(), "auth.chef_keys_dir is not") {
		t.Fatalf("writers without keys: %v", err)
	}
	// Other files beside the keys are ignored.
	dir := keysDir(t, map[string][]byte{"alice": alicePub(t)})
	writeFile(t, filepath.Join(dir, "README"), "keys of the ops team")
	a := newAuth(t, Options{ChefKeysDir: dir})
	if got := a.Names(); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("names: %v", got)
	}
}

// Reload swaps in the new tokens and keys; a bad file keeps the old set.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "old-token\n")
	keys := keysDir(t, map[string][]byte{"alice": alicePub(t)})
	var logs bytes.Buffer
	a := newAuth(t, Options{TokensFile: tokens, ChefKeysDir: keys, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	writeFile(t, tokens, "new-token write\n")
	writeFile(t, filepath.Join(keys, "bob.pem"), string(alicePub(t)))
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := bearer(a, "old-token"); err == nil {
		t.Fatal("a token removed from the file still works after reload")
	}
	if c, err := bearer(a, "new-token"); err != nil || !c.Write {
		t.Fatalf("new token: %+v %v", c, err)
	}
	if got := strings.Join(a.Names(), ","); got != "alice,bob" {
		t.Fatalf("keys after reload: %s", got)
	}
	// A broken keys folder: the old set stays.
	writeFile(t, filepath.Join(keys, "carol.pem"), "garbage")
	writeFile(t, tokens, "newer-token\n")
	if err := a.Reload(); err == nil || !strings.Contains(err.Error(), "carol.pem") {
		t.Fatalf("bad reload: %v", err)
	}
	if _, err := bearer(a, "new-token"); err != nil {
		t.Fatalf("after a bad reload the old token must still work: %v", err)
	}
	if _, err := bearer(a, "newer-token"); err == nil {
		t.Fatal("a bad reload took half the new set")
	}
	if !strings.Contains(logs.String(), "keeping the previous tokens and keys") || strings.Contains(logs.String(), "new-token") {
		t.Fatalf("reload log: %s", logs.String())
	}
}

func TestAuthOff(t *testing.T) {
	for _, a := range []*Authenticator{nil, newAuth(t, Options{})} {
		c, err := bearer(a, "anything")
		if err != nil || c != (Caller{Method: "none"}) || a.Enabled() || a.Reload() != nil {
			t.Fatalf("auth off: %+v %v", c, err)
		}
	}
}

func TestRequireWrite(t *testing.T) {
	for _, tc := range []struct {
		c     Caller
		words string
	}{
		{Caller{Name: "token:0a1b2c3d", Method: "token"}, `"TOKEN write" in auth.tokens_file`},
		{Caller{Name: "alice", Method: "chef"}, `"alice" may only read: list it in auth.writers`},
		{Caller{Method: "none"}, "writes need a caller with write scope"},
	} {
		err := RequireWrite(WithCaller(context.Background(), tc.c))
		wantStatus(t, tc.c.Method, err, 403, tc.words)
	}
	err := RequireWrite(context.Background())
	wantStatus(t, "no caller", err, 403, "writes need")
	if err := RequireWrite(WithCaller(context.Background(), Caller{Name: "bob", Method: "chef", Write: true})); err != nil {
		t.Fatal(err)
	}
}

// Checks that the clock given is the one used (Chef-signed requests are
// refused with the real one in TestKnifeRequestsTampered).
func TestClockInjected(t *testing.T) {
	k := knifeRequests(t)[6]
	at := k.at(t)
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return at.Add(-14 * time.Minute) }})
	if _, err := a.Authenticate(k.request()); err != nil {
		t.Fatal(err)
	}
}

func TestBearerSchemeCase(t *testing.T) {
	a := newAuth(t, Options{TokensFile: writeFile(t, filepath.Join(t.TempDir(), "tokens"), "tok\n")})
	for _, h := range []string{"Bearer tok", "bearer tok", "BEARER  tok"} {
		r := httptest.NewRequest("GET", "/nodes", nil)
		r.Header.Set("Authorization", h)
		if _, err := a.Authenticate(r); err != nil {
			t.Fatalf("%q: %v", h, err)
		}
	}
}

// Requests keep being answered from one whole set while reloads swap it
// (run with -race).
func TestReloadWhileServing(t *testing.T) {
	f := writeFile(t, filepath.Join(t.TempDir(), "tokens"), "a\nb write\n")
	a := newAuth(t, Options{TokensFile: f, ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)})})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			if err := a.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 500; i++ {
		if c, err := bearer(a, "b"); err != nil || !c.Write {
			t.Fatalf("during reloads: %+v %v", c, err)
		}
	}
	<-done
}

// Knife behind a proxy that adds its own Authorization still verifies.
func TestChefSignedWithOtherAuthorization(t *testing.T) {
	k := knifeRequests(t)[2]
	at := k.at(t)
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return at }})
	r := k.request()
	r.Header.Set("Authorization", "Basic YTpi")
	if c, err := a.Authenticate(r); err != nil || c.Name != "alice" {
		t.Fatalf("%+v %v", c, err)
	}
}
