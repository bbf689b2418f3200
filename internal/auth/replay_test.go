package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chef/chef"
)

// A signature is good once within the skew window; the window's
// signatures are bounded by ReplayCacheSize (past it, a 503 rather than
// forgetting one that could then be replayed); once the window has passed
// they are forgotten, and the timestamp check refuses them anyway.
func TestReplayCache(t *testing.T) {
	ks := knifeRequests(t)
	var now time.Time
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return now }, ReplayCacheSize: 2})
	now = ks[0].at(t).Add(time.Minute)
	for i := 0; i < 2; i++ {
		if err := a.CheckReplay(ks[i].request()); err != nil {
			t.Fatalf("first use of request %d: %v", i+1, err)
		}
	}
	wantStatus(t, "second use", a.CheckReplay(ks[0].request()), 401, "replayed signature")
	wantStatus(t, "a third signature in the window", a.CheckReplay(ks[2].request()), 503, "auth.replay_cache_size (2)")
	now = now.Add(DefaultMaxSkew)
	if err := a.CheckReplay(ks[2].request()); err != nil {
		t.Fatalf("after the window the old signatures are swept: %v", err)
	}
	// A bearer-token request is not checked.
	r := httptest.NewRequest("POST", "/nodes", nil)
	r.Header.Set("Authorization", "Bearer x")
	if err := a.CheckReplay(r); err != nil || a.CheckReplay(r) != nil {
		t.Fatalf("a token request: %v", err)
	}
}

// SetWriters swaps auth.writers whole; an empty name keeps the old set.
func TestSetWriters(t *testing.T) {
	var now time.Time
	dir := keysDir(t, map[string][]byte{"alice": alicePub(t)})
	a := newAuth(t, Options{ChefKeysDir: dir, Now: func() time.Time { return now }, Writers: []string{"alice"},
		TokensFile: writeFile(t, filepath.Join(t.TempDir(), "tokens"), "t\n")})
	k := knifeRequests(t)[0]
	now = k.at(t)
	if c, err := a.Authenticate(k.request()); err != nil || !c.Write {
		t.Fatalf("alice as a writer: %+v %v", c, err)
	}
	if err := a.SetWriters([]string{"bob"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil { // a reload of the files keeps the writers
		t.Fatal(err)
	}
	if c, err := a.Authenticate(k.request()); err != nil || c.Write {
		t.Fatalf("alice after she was removed: %+v %v", c, err)
	}
	if err := a.SetWriters([]string{"alice", " "}); err == nil {
		t.Fatal("a blank writer name was taken")
	}
	if c, _ := a.Authenticate(k.request()); c.Write {
		t.Fatal("a refused writers list replaced the old one")
	}
}

// A replay cannot outlive its cache entry by moving X-Ops-Timestamp within
// its second: the signed string holds whole seconds, so T.999Z verifies
// with T's signature and passes the clock check almost a second after T's
// entry was forgotten.
func TestReplayFractionalTimestamp(t *testing.T) {
	k := knifeRequests(t)[0]
	var now time.Time
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return now }})
	now = k.at(t).Add(time.Minute)
	if _, err := a.Authenticate(k.request()); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckReplay(k.request()); err != nil {
		t.Fatalf("first use: %v", err)
	}
	now = k.at(t).Add(DefaultMaxSkew + 500*time.Millisecond)
	r := k.request()
	r.Header.Set("X-Ops-Timestamp", k.at(t).Add(999*time.Millisecond).UTC().Format(time.RFC3339Nano))
	if _, err := a.Authenticate(r); err != nil {
		t.Fatalf("the moved timestamp no longer verifies, nothing to replay: %v", err)
	}
	wantStatus(t, "replay with the timestamp moved within its second", a.CheckReplay(r), 401, "replayed signature")
}

// A signature with its leading zero bytes dropped (go-chef's 1.0 signer
// sends such) or put back is the same signature: replaying it in the
// other form is still a replay.
func TestReplayPaddedSignature(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"deploy": pub})})
	c, err := chef.NewClient(&chef.Config{Name: "deploy", Key: priv, BaseURL: "http://127.0.0.1:1/", AuthenticationVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	// (255/256)^4000 < 1e-6: a short one turns up.
	for i := 0; i < 4000; i++ {
		r, err := c.NewRequest("DELETE", fmt.Sprintf("nodes/n%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := joinSignature(r.Header)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) == key.Size() {
			continue
		}
		if _, err := a.Authenticate(r); err != nil {
			t.Fatal(err)
		}
		if err := a.CheckReplay(r); err != nil {
			t.Fatalf("first use: %v", err)
		}
		padded := append(make([]byte, key.Size()-len(sig)), sig...)
		r2 := r.Clone(r.Context())
		for h := range r2.Header {
			if strings.HasPrefix(h, "X-Ops-Authorization-") {
				r2.Header.Del(h)
			}
		}
		b64 := base64.StdEncoding.EncodeToString(padded)
		for n := 1; len(b64) > 0; n++ {
			line := b64[:min(60, len(b64))]
			b64 = b64[len(line):]
			r2.Header.Set(fmt.Sprintf("X-Ops-Authorization-%d", n), line)
		}
		if _, err := a.Authenticate(r2); err != nil {
			t.Fatalf("the padded signature no longer verifies, nothing to replay: %v", err)
		}
		wantStatus(t, "replay with the signature padded", a.CheckReplay(r2), 401, "replayed signature")
		return
	}
	t.Fatal("no short signature in 4000 go-chef requests")
}
