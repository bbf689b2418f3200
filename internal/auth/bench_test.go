package auth

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkAuthenticate measures what each request pays: a token among
// 100, and a knife-signed request of each protocol (RSA-2048 verify,
// body hash).
func BenchmarkAuthenticate(b *testing.B) {
	t := testing.TB(b)
	var lines []string
	for i := 0; i < 100; i++ {
		lines = append(lines, strings.Repeat("x", 30)+string(rune('a'+i%26))+strings.Repeat("y", i))
	}
	dir := t.TempDir()
	a, err := New(Options{TokensFile: writeFile(t, filepath.Join(dir, "tokens"), strings.Join(lines, "\n")),
		ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)})})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("token", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/v1/search/node", nil)
		r.Header.Set("Authorization", "Bearer "+lines[99])
		for i := 0; i < b.N; i++ {
			if _, err := a.Authenticate(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []knifeRequest{knifeRequests(t)[0], knifeRequests(t)[6]} {
		at := k.at(t)
		a.opts.Now = func() time.Time { return at }
		b.Run("chef-"+k.Headers["X-Ops-Sign"], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := a.Authenticate(k.request()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
