package shards

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The pages of one search within a second share their signature: 1.0
// signs the path without the query, the body's hash and the second. The
// memo gives back what signing again gives, and nothing else.
func TestSignMemo(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	s, err := newSigner("https://chef.example/organizations/acme", "shearch", pemKey, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return at }
	auth := func(method, rel, body string) string {
		t.Helper()
		req, err := s.NewRequest(method, rel, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := 1; i <= 6; i++ {
			b.WriteString(req.Header.Get("X-Ops-Authorization-" + string(rune('0'+i))))
		}
		return b.String()
	}
	fresh := func(method, rel, body string) string {
		t.Helper()
		saved := s.memo
		s.memo = nil
		defer func() { s.memo = saved }()
		return auth(method, rel, body)
	}
	p0 := auth(http.MethodPost, "search/node?q=%2A%3A%2A&start=0&rows=1000", `{"n":["name"]}`)
	p1 := auth(http.MethodPost, "search/node?q=%2A%3A%2A&start=1000&rows=1000", `{"n":["name"]}`)
	if p0 != p1 || s.memo.Len() != 1 || p1 != fresh(http.MethodPost, "search/node?q=%2A%3A%2A&start=1000&rows=1000", `{"n":["name"]}`) {
		t.Fatalf("two pages of one search: memo %d entries, same signature %v", s.memo.Len(), p0 == p1)
	}
	for _, c := range []struct{ method, rel, body string }{
		{http.MethodPost, "search/node?q=%2A%3A%2A&start=0&rows=1000", `{"n":["ipaddress"]}`}, // another body
		{http.MethodPost, "search/role?q=%2A%3A%2A&start=0&rows=1000", `{"n":["name"]}`},      // another path
		{http.MethodGet, "nodes/web-01", ""},                                                  // another method
	} {
		if got := auth(c.method, c.rel, c.body); got == p0 || got != fresh(c.method, c.rel, c.body) {
			t.Fatalf("%s %s %s: memo gave a wrong signature", c.method, c.rel, c.body)
		}
	}
	at = at.Add(time.Second)
	if got := auth(http.MethodPost, "search/node?q=%2A%3A%2A&start=0&rows=1000", `{"n":["name"]}`); got == p0 {
		t.Fatal("a later second reused an earlier signature")
	}
}
