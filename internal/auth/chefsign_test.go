package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chef/chef"
)

type knifeRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// knifeRequests reads the requests real knife 16.12.3 signed as alice.
func knifeRequests(t testing.TB) []knifeRequest {
	t.Helper()
	f, err := os.Open("../../testdata/chef-auth/knife-16.12.3-requests.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []knifeRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var k knifeRequest
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if len(out) != 9 {
		t.Fatalf("want the 9 recorded knife requests, got %d", len(out))
	}
	return out
}

// request rebuilds k as the server receives it.
func (k knifeRequest) request() *http.Request {
	r := httptest.NewRequest(k.Method, k.Path, strings.NewReader(k.Body))
	for h, v := range k.Headers {
		r.Header.Set(h, v)
	}
	return r
}

func (k knifeRequest) at(t testing.TB) time.Time {
	ts, err := time.Parse(time.RFC3339, k.Headers["X-Ops-Timestamp"])
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// keysDir makes a chef_keys_dir holding the given NAME -> PEM files.
func keysDir(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func alicePub(t testing.TB) []byte {
	b, err := os.ReadFile("../../testdata/chef-auth/alice.pem")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newAuth(t *testing.T, o Options) *Authenticator {
	t.Helper()
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantStatus(t *testing.T, what string, err error, status int, words string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != status {
		t.Fatalf("%s: want a %d, got %v", what, status, err)
	}
	if !strings.Contains(ae.LogReason(), words) {
		t.Fatalf("%s: the logged reason %q does not say %q", what, ae.LogReason(), words)
	}
	// A 401 tells the caller only that it failed, never why.
	if status == 401 && !strings.HasPrefix(ae.Message, "Failed to authenticate") {
		t.Fatalf("%s: the answer %q is not a plain \"Failed to authenticate\"", what, ae.Message)
	}
	if status == 401 && ae.Reason != "" && strings.Contains(ae.Message, words) && !strings.Contains(words, "15m0s") {
		t.Fatalf("%s: the answer %q gives the reason away", what, ae.Message)
	}
}

// Every request knife really sent verifies, protocol 1.1 and 1.3, at
// the time it was signed; the handler still gets the whole body.
func TestKnifeRequestsVerify(t *testing.T) {
	var now time.Time
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return now }, Writers: []string{"alice"}})
	for i, k := range knifeRequests(t) {
		now = k.at(t).Add(14 * time.Minute)
		r := k.request()
		c, err := a.Authenticate(r)
		if err != nil {
			t.Fatalf("request %d (%s %s, %s): %v", i+1, k.Method, k.Path, k.Headers["X-Ops-Sign"], err)
		}
		if c != (Caller{Name: "alice", Method: "chef", Write: true}) {
			t.Fatalf("request %d: caller %+v", i+1, c)
		}
		if b, _ := io.ReadAll(r.Body); string(b) != k.Body {
			t.Fatalf("request %d: the handler gets body %q, want %q", i+1, b, k.Body)
		}
	}
}

// Changing any signed part of a real knife request makes it fail; so do
// the real clock, a different key and an unknown user.
func TestKnifeRequestsTampered(t *testing.T) {
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherPub, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	dir := keysDir(t, map[string][]byte{"alice": alicePub(t), "bob": alicePub(t),
		"mallory": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: otherPub})})
	for i, k := range knifeRequests(t) {
		at := k.at(t)
		a := newAuth(t, Options{ChefKeysDir: dir, Now: func() time.Time { return at }})
		for _, tc := range []struct {
			what   string
			change func(r *http.Request)
			status int
			words  string
		}{
			{"another path", func(r *http.Request) {
				r.URL.Path = strings.Replace(r.URL.Path, "/acme/", "/other/", 1)
				r.URL.RawPath = ""
			}, 401, "does not verify"},
			{"another body", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(k.Body + " ")) }, 401, "X-Ops-Content-Hash does not match"},
			{"another content hash", func(r *http.Request) {
				r.Header.Set("X-Ops-Content-Hash", hashString(map[bool]string{true: "sha256", false: "sha1"}[i >= 6], []byte("{}")))
			}, 401, "does not verify"},
			{"another user id with the same key", func(r *http.Request) { r.Header.Set("X-Ops-Userid", "bob") }, 401, "does not verify"},
			{"another timestamp", func(r *http.Request) { r.Header.Set("X-Ops-Timestamp", at.Add(time.Second).Format(time.RFC3339)) }, 401, "does not verify"},
			{"another method", func(r *http.Request) { r.Method = map[string]string{"GET": "DELETE", "POST": "PUT"}[r.Method] }, 401, "does not verify"},
			{"a mismatched key", func(r *http.Request) { r.Header.Set("X-Ops-Userid", "mallory") }, 401, "does not verify"},
			{"an unknown user", func(r *http.Request) { r.Header.Set("X-Ops-Userid", "eve") }, 401, `unknown user "eve"`},
			{"a truncated signature", func(r *http.Request) { r.Header.Del("X-Ops-Authorization-6") }, 401, "does not verify"},
			{"a missing signature line", func(r *http.Request) { r.Header.Del("X-Ops-Authorization-2") }, 401, "X-Ops-Authorization-2 is missing"},
			{"another server API version", func(r *http.Request) { r.Header.Set("X-Ops-Server-Api-Version", "1") }, map[bool]int{true: 401, false: 0}[i >= 6], "does not verify"},
		} {
			r := k.request()
			tc.change(r)
			_, err := a.Authenticate(r)
			if tc.status == 0 { // 1.1 does not sign the API version
				if err != nil {
					t.Fatalf("request %d, %s: %v", i+1, tc.what, err)
				}
				continue
			}
			wantStatus(t, "request "+k.Headers["X-Ops-Sign"]+" "+tc.what, err, tc.status, tc.words)
		}
		// 15 minutes either side is too far, as for Chef Server.
		for _, off := range []time.Duration{15 * time.Minute, -15 * time.Minute, 3 * time.Hour} {
			late := newAuth(t, Options{ChefKeysDir: dir, Now: func() time.Time { return at.Add(off) }})
			_, err := late.Authenticate(k.request())
			wantStatus(t, "clock off by "+off.String(), err, 401, "more than 15m0s off")
		}
		real := newAuth(t, Options{ChefKeysDir: dir})
		if time.Since(at) > 15*time.Minute {
			_, err := real.Authenticate(k.request())
			wantStatus(t, "the real clock", err, 401, "more than 15m0s off")
		}
	}
}

// go-chef signs with protocol 1.0 and 1.3; both verify, and a changed
// body, another key or an old timestamp do not.
func TestGoChefSigning(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherPub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&other.PublicKey)})
	now := time.Now()
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"deploy": pub, "ci": otherPub}), Now: func() time.Time { return now }})
	for _, v := range []string{"1.0", "1.3"} {
		sign := func(name, method, path, body string) *http.Request {
			c, err := chef.NewClient(&chef.Config{Name: name, Key: priv, BaseURL: "http://127.0.0.1:1/organizations/acme/", AuthenticationVersion: chef.AuthVersion(v)})
			if err != nil {
				t.Fatal(err)
			}
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			r, err := c.NewRequest(method, path, rd)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "nodes/web-01.prod.example.com", ""},
			{"POST", "search/node?q=role:web&rows=1000", `{"ip":["ipaddress"]}`},
			{"GET", "search/node?q=name:a%2Fb", ""},
			{"GET", "nodes/web%2001", ""}, // go-chef signs the decoded path
			{"GET", "data//users/", ""},   // and a cleaned one
		} {
			c, err := a.Authenticate(sign("deploy", tc.method, tc.path, tc.body))
			if err != nil || c != (Caller{Name: "deploy", Method: "chef"}) {
				t.Fatalf("go-chef %s %s %s: %+v %v", v, tc.method, tc.path, c, err)
			}
		}
		r := sign("deploy", "POST", "search/node", `{"ip":["ipaddress"]}`)
		r.Body = io.NopCloser(bytes.NewReader([]byte(`{"ip":["macaddress"]}`)))
		_, err := a.Authenticate(r)
		wantStatus(t, v+" changed body", err, 401, "does not match the body")
		_, err = a.Authenticate(sign("ci", "GET", "nodes", ""))
		wantStatus(t, v+" mismatched key", err, 401, "does not verify")
		_, err = a.Authenticate(sign("nobody", "GET", "nodes", ""))
		wantStatus(t, v+" unknown user", err, 401, `unknown user "nobody"`)
		old := newAuth(t, Options{ChefKeysDir: a.opts.ChefKeysDir, Now: func() time.Time { return now.Add(16 * time.Minute) }})
		_, err = old.Authenticate(sign("deploy", "GET", "nodes", ""))
		wantStatus(t, v+" old timestamp", err, 401, "more than 15m0s off")
	}
}

func TestCanonicalPath(t *testing.T) {
	for in, want := range map[string]string{"/": "/", "//": "/", "/a//b/": "/a/b", "/organizations/acme/search/node": "/organizations/acme/search/node", "/a/b//": "/a/b"} {
		if got := canonicalPath(in); got != want {
			t.Errorf("canonicalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A bad signing description is refused with a message naming it.
func TestSigningDescription(t *testing.T) {
	k := knifeRequests(t)[0]
	at := k.at(t)
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return at }})
	for sign, words := range map[string]string{
		"algorithm=sha1;version=1.2;":   `version "1.2" is not supported`,
		"algorithm=sha256;version=1.1;": "algorithm sha256 does not go with version 1.1",
		"algorithm=md5;version=1.3":     "algorithm md5 does not go with version 1.3",
	} {
		r := k.request()
		r.Header.Set("X-Ops-Sign", sign)
		_, err := a.Authenticate(r)
		wantStatus(t, sign, err, 401, words)
	}
	r := k.request()
	r.Header.Set("X-Ops-Timestamp", "yesterday")
	_, err := a.Authenticate(r)
	wantStatus(t, "bad timestamp", err, 401, "is not an ISO 8601 time")
	r = k.request()
	r.Header.Del("X-Ops-Content-Hash")
	_, err = a.Authenticate(r)
	wantStatus(t, "no content hash", err, 401, "without its X-Ops-Content-Hash header")
	// Version 1.1 knife signs "algorithm=sha1;version=1.1;"; without the
	// algorithm the version implies it.
	r = k.request()
	r.Header.Set("X-Ops-Sign", "version=1.1")
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
}

// A body over the bound is refused before it is buffered whole.
func TestChefBodyBound(t *testing.T) {
	k := knifeRequests(t)[0]
	at := k.at(t)
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return at }, MaxBody: 10})
	_, err := a.Authenticate(k.request())
	wantStatus(t, "body over MaxBody", err, 413, "larger than 10 bytes")
}

// go-chef's 1.0 signer drops the signature's leading zero bytes (one
// signature in 256); Chef Server accepts those, so Shearch does too.
func TestGoChefShortSignature(t *testing.T) {
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
		r, err := c.NewRequest("GET", fmt.Sprintf("nodes/n%d", i), nil)
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
			t.Fatalf("a %d-byte go-chef signature: %v", len(sig), err)
		}
		return
	}
	t.Fatal("no short signature in 4000 go-chef requests")
}
