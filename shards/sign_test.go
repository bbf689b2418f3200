package shards

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/internal/auth"
)

var (
	signKeyOnce sync.Once
	signKey     *rsa.PrivateKey
	signKeyPEM  string
)

func signTestKey(t testing.TB) (*rsa.PrivateKey, string) {
	signKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		signKey = k
		signKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	})
	return signKey, signKeyPEM
}

// verifier is Shearch's own auth package, knowing the test key as user
// "shearch", with its clock at now.
func verifier(t testing.TB, key *rsa.PrivateKey, now func() time.Time) *auth.Authenticator {
	t.Helper()
	dir := t.TempDir()
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	if err := os.WriteFile(filepath.Join(dir, "shearch.pem"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Options{ChefKeysDir: dir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type signCase struct {
	method, rel string
	body        []byte // nil: no body
}

func signCases(t testing.TB) []signCase {
	search, err := SearchPath("node", "role:web AND name:web-*.prod.example.com", 20, 20)
	if err != nil {
		t.Fatal(err)
	}
	bagSearch, err := SearchPath("users", `id:carol OR groups:"sysadmin ops"`, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	node, err := ObjectPath(Nodes, "web-01.prod.example.com")
	if err != nil {
		t.Fatal(err)
	}
	item, err := ObjectPath(DataBags, "users", "carol")
	if err != nil {
		t.Fatal(err)
	}
	envNodes, err := EnvironmentNodesPath("prod")
	if err != nil {
		t.Fatal(err)
	}
	partial := []byte(`{"ip":["ipaddress"],"name":["name"],"roles":["automatic","roles"]}`)
	return []signCase{
		{"GET", search.rel, nil},
		{"POST", search.rel, partial},
		{"POST", bagSearch.rel, []byte(`{"id":["id"]}`)},
		{"GET", node.rel, nil},
		{"PUT", node.rel, []byte(`{"name":"web-01.prod.example.com","chef_type":"node","run_list":["role[web]"]}`)},
		{"DELETE", node.rel, nil},
		{"PUT", item.rel, []byte(`{"id":"carol","groups":["sysadmin"]}`)},
		{"GET", envNodes.rel, nil},
		{"GET", CookbookVersionsPath().rel, nil},
		{"GET", "nodes", nil},
		// Not what the builders make, but go-chef's URL handling must be
		// kept all the same: path.Clean, query keys sorted and
		// re-escaped, a semicolon dropped, bodies that are not objects.
		{"GET", "nodes//a/./b/", nil},
		{"GET", "search/node?rows=5&q=a%20b:c&start=0&q=x+y", nil},
		{"GET", "search/node?q=a;b", nil},
		{"POST", "nodes", []byte(`[]`)},
		{"POST", "nodes", []byte(`"text"`)},
		{"POST", "nodes", []byte(`null`)},
		{"POST", "nodes", []byte(`{}`)},
		{"POST", "nodes", []byte{}},
	}
}

func bodyReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

// signature joins the X-Ops-Authorization-N lines.
func signature(t testing.TB, h http.Header) []byte {
	t.Helper()
	var b strings.Builder
	for i := 1; h.Get(fmt.Sprintf("X-Ops-Authorization-%d", i)) != ""; i++ {
		b.WriteString(h.Get(fmt.Sprintf("X-Ops-Authorization-%d", i)))
	}
	sig, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func isAuthLine(k string) bool { return strings.HasPrefix(k, "X-Ops-Authorization-") }

func readBody(t testing.TB, r *http.Request) []byte {
	t.Helper()
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// canonical10 is protocol 1.0's signed string, written out from the
// request as Chef Server reads it.
func canonical10(r *http.Request) string {
	return "Method:" + r.Method +
		"\nHashed Path:" + hashStr([]byte(r.URL.Path)) +
		"\nX-Ops-Content-Hash:" + r.Header.Get("X-Ops-Content-Hash") +
		"\nX-Ops-Timestamp:" + r.Header.Get("X-Ops-Timestamp") +
		"\nX-Ops-UserId:" + r.Header.Get("X-Ops-Userid")
}

// For each request, go-chef's NewRequest (as Shearch configured it before)
// and the signer give the same URL, body and headers, signature lines
// included. go-chef reads time.Now itself, so the signer's clock is fixed
// at the second go-chef stamped. A go-chef signature that lost a leading
// zero byte (one in 256) is the signer's with that byte.
func TestSignMatchesGoChef(t *testing.T) {
	key, keyPEM := signTestKey(t)
	for _, base := range []string{"http://chef-1.example.com:4000/organizations/acme/", "https://chef-2.example.com/"} {
		gc, err := chef.NewClient(&chef.Config{Name: "shearch", Key: keyPEM, BaseURL: base, AuthenticationVersion: "1.0"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := newSigner(base, "shearch", keyPEM, http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range signCases(t) {
			t.Run(base+" "+tc.method+" "+tc.rel+" "+string(tc.body), func(t *testing.T) {
				want, err := gc.NewRequest(tc.method, tc.rel, bodyReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				at, err := time.Parse(time.RFC3339, want.Header.Get("X-Ops-Timestamp"))
				if err != nil {
					t.Fatal(err)
				}
				s.now = func() time.Time { return at }
				got, err := s.NewRequest(tc.method, tc.rel, bodyReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if got.Method != want.Method || got.URL.String() != want.URL.String() || got.Host != want.Host {
					t.Errorf("request line: got %s %s (host %s), go-chef %s %s (host %s)", got.Method, got.URL, got.Host, want.Method, want.URL, want.Host)
				}
				if got.URL.Path != want.URL.Path || got.URL.RawPath != want.URL.RawPath || got.URL.RawQuery != want.URL.RawQuery {
					t.Errorf("URL: got %#v, go-chef %#v", got.URL, want.URL)
				}
				if got.ContentLength != want.ContentLength || (got.Body == nil) != (want.Body == nil) || (got.GetBody == nil) != (want.GetBody == nil) {
					t.Errorf("body: got length %d, go-chef %d", got.ContentLength, want.ContentLength)
				}
				if g, w := readBody(t, got), readBody(t, want); !bytes.Equal(g, w) {
					t.Errorf("body: got %q, go-chef %q", g, w)
				}
				for k := range mergeKeys(got.Header, want.Header) {
					if isAuthLine(k) {
						continue
					}
					if !slices.Equal(got.Header[k], want.Header[k]) {
						t.Errorf("header %s: got %q, go-chef %q", k, got.Header[k], want.Header[k])
					}
				}
				gs, ws := signature(t, got.Header), signature(t, want.Header)
				if len(gs) != key.Size() {
					t.Fatalf("signature of %d bytes, want the modulus' %d", len(gs), key.Size())
				}
				if len(ws) < len(gs) {
					// go-chef's short signature: the same number.
					t.Logf("go-chef's signature lost %d leading zero byte(s)", len(gs)-len(ws))
					if !bytes.Equal(gs, append(make([]byte, len(gs)-len(ws)), ws...)) {
						t.Errorf("signatures differ beyond go-chef's dropped zero bytes")
					}
					return
				}
				for k := range mergeKeys(got.Header, want.Header) {
					if isAuthLine(k) && !slices.Equal(got.Header[k], want.Header[k]) {
						t.Errorf("header %s: got %q, go-chef %q", k, got.Header[k], want.Header[k])
					}
				}
				// Both verify, as Go's RSA and as Shearch's own verifier.
				if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.Hash(0), []byte(canonical10(got)), gs); err != nil {
					t.Errorf("rsa.VerifyPKCS1v15: %v", err)
				}
				a := verifier(t, key, func() time.Time { return at })
				if c, err := a.Authenticate(got); err != nil || c.Name != "shearch" {
					t.Errorf("auth: %v %+v", err, c)
				}
			})
		}
	}
}

func mergeKeys(a, b http.Header) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// With a fixed clock, the signer's lines are go-chef's own 1.0 signing
// functions applied to go-chef's canonical string, for every second of a
// span long enough to hold signatures that start with a zero byte: there
// go-chef's is one byte shorter and the signer's is full length, and the
// signer's verifies (crypto/rsa, Shearch's auth).
func TestSignFixedClockAndZeroByte(t *testing.T) {
	key, keyPEM := signTestKey(t)
	s, err := newSigner("http://chef-1.example.com/organizations/acme/", "shearch", keyPEM, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	ac := chef.AuthConfig{PrivateKey: key, ClientName: "shearch", AuthenticationVersion: "1.0", ServerVersion: chef.DefaultChefVersion}
	t0 := time.Date(2026, 11, 30, 9, 34, 2, 0, time.UTC)
	search, _ := SearchPath("node", "role:web", 0, 20)
	body := []byte(`{"name":["name"]}`)
	zeros, full := 0, 0
	// (255/256)^3000 < 1e-5: a zero byte turns up.
	for i := 0; i < 3000 && (zeros < 2 || full < 20); i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		s.now = func() time.Time { return at }
		r, err := s.NewRequest("POST", search.rel, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		content := ac.SignatureContent(map[string]string{
			"Method":             "POST",
			"Hashed Path":        chef.HashStr("/organizations/acme/search/node"),
			"X-Ops-Content-Hash": chef.HashStr(string(body)),
			"X-Ops-Timestamp":    at.Format(time.RFC3339),
			"X-Ops-UserId":       "shearch",
		})
		if c := canonical10(r); c != content {
			t.Fatalf("canonical string:\n%s\ngo-chef's:\n%s", c, content)
		}
		ref, err := chef.GenerateSignature(key, content)
		if err != nil {
			t.Fatal(err)
		}
		sig := signature(t, r.Header)
		if len(sig) != key.Size() {
			t.Fatalf("signature of %d bytes", len(sig))
		}
		if sig[0] != 0 {
			full++
			if len(ref) != len(sig) {
				t.Fatalf("go-chef's signature is %d bytes where the signer's has no leading zero", len(ref))
			}
			lines := chef.Base64BlockEncode(ref, 60)
			for j, l := range lines {
				if g := r.Header.Get(fmt.Sprintf("X-Ops-Authorization-%d", j+1)); g != l {
					t.Fatalf("line %d: %q, go-chef %q", j+1, g, l)
				}
			}
			if r.Header.Get(fmt.Sprintf("X-Ops-Authorization-%d", len(lines)+1)) != "" {
				t.Fatalf("more lines than go-chef's %d", len(lines))
			}
			continue
		}
		zeros++
		if !bytes.Equal(sig[1:], ref) && !bytes.Equal(sig, append(make([]byte, len(sig)-len(ref)), ref...)) {
			t.Fatalf("zero-byte signature differs from go-chef's beyond the dropped byte")
		}
		t.Logf("%s: the signer's signature starts with a zero byte; go-chef's is %d bytes", at.Format(time.RFC3339), len(ref))
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.Hash(0), []byte(content), sig); err != nil {
			t.Errorf("rsa.VerifyPKCS1v15: %v", err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.Hash(0), []byte(content), ref); err == nil {
			t.Logf("(Go's verifier takes go-chef's short signature too)")
		}
		a := verifier(t, key, func() time.Time { return at })
		if c, err := a.Authenticate(r); err != nil || c.Name != "shearch" {
			t.Errorf("auth: %v %+v", err, c)
		}
	}
	if zeros == 0 {
		t.Fatal("no signature with a leading zero byte in 3000")
	}
}

// Through Client.Do and Client.DoStream, a shard sees requests that
// Shearch's verifier accepts, at the organization path, with the request
// id, the timeout's client and every go-chef header.
func TestClientRequestsVerify(t *testing.T) {
	key, keyPEM := signTestKey(t)
	a := verifier(t, key, nil)
	type seen struct {
		method, uri, id, ctype string
		err                    error
	}
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := a.Authenticate(r)
		for _, h := range []string{"Accept", "X-Chef-Version", "X-Ops-Server-Api-Version", "X-Ops-Sign", "X-Ops-Userid", "Method"} {
			if r.Header.Get(h) == "" && err == nil {
				err = fmt.Errorf("no %s header", h)
			}
		}
		got <- seen{r.Method, r.RequestURI, r.Header.Get("X-Request-Id"), r.Header.Get("Content-Type"), err}
		w.Write([]byte(`{"total":0,"start":0,"rows":[]}`))
	}))
	defer srv.Close()
	c, err := NewClientWithKey(Shard{Name: "chef-1", URL: srv.URL + "/organizations/acme", ClientName: "shearch", Timeout: 7 * time.Second}, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if c.chef.Client.Timeout != 7*time.Second || c.chef.Client.Transport != sharedTransport {
		t.Errorf("http client: timeout %v, transport %p", c.chef.Client.Timeout, c.chef.Client.Transport)
	}
	ctx := WithRequestID(context.Background(), "req-42")
	p, _ := SearchPath("node", "role:web", 0, 20)
	if _, err := c.Do(ctx, "POST", p, map[string][]string{"name": {"name"}}); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.err != nil || s.method != "POST" || s.uri != "/organizations/acme/search/node?q=role%3Aweb&rows=20&start=0" || s.id != "req-42" || s.ctype != "application/json" {
		t.Errorf("Do: %+v", s)
	}
	body, _, err := c.DoStream(ctx, "GET", p, nil)
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	if s := <-got; s.err != nil || s.method != "GET" || s.id != "req-42" || s.ctype != "" {
		t.Errorf("DoStream: %+v", s)
	}
}

// BenchmarkSign builds and signs one partial-search page request, the
// request of the search stream: go-chef's NewRequest as Shearch used it,
// and the signer.
func BenchmarkSign(b *testing.B) {
	_, keyPEM := signTestKey(b)
	base := "http://chef-1.example.com:4000/organizations/acme/"
	p, _ := SearchPath("node", "role:web AND chef_environment:prod", 20, 20)
	body := []byte(`{"ip":["ipaddress"],"name":["name"]}`)
	b.Run("go-chef", func(b *testing.B) {
		gc, err := chef.NewClient(&chef.Config{Name: "shearch", Key: keyPEM, BaseURL: base, AuthenticationVersion: "1.0"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := gc.NewRequest("POST", p.rel, bytes.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		s, err := newSigner(base, "shearch", keyPEM, http.DefaultClient)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := s.NewRequest("POST", p.rel, bytes.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignRSA is the RSA step alone on a canonical string of the
// search stream: go-chef's GenerateSignature (math/big; with a key from
// x509, Go 1.20 and later, its CRT branch) and the signer's
// rsa.SignPKCS1v15.
func BenchmarkSignRSA(b *testing.B) {
	key, keyPEM := signTestKey(b)
	s, err := newSigner("http://chef-1.example.com/", "shearch", keyPEM, http.DefaultClient)
	if err != nil {
		b.Fatal(err)
	}
	content := "Method:POST\nHashed Path:" + hashStr([]byte("/organizations/acme/search/node")) +
		"\nX-Ops-Content-Hash:" + hashStr([]byte(`{"name":["name"]}`)) +
		"\nX-Ops-Timestamp:2026-11-30T09:34:02Z\nX-Ops-UserId:shearch"
	b.Run("go-chef", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := chef.GenerateSignature(key, content); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := s.signContent(content); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU adds cpu-ns/op, the process's user+system CPU time per
// operation (GC included), as search's benchmarks do: on a shared machine
// the wall clock says more about the neighbours. Call the result after
// the loop.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	begin := cpu()
	return func() { b.ReportMetric(float64(cpu()-begin)/float64(b.N), "cpu-ns/op") }
}
