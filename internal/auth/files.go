package auth

import (
	"bufio"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// token is one line of auth.tokens_file. Only the token's SHA-256 is
// kept: nothing in memory or in a log can give the token back.
type token struct {
	sum   [sha256.Size]byte
	name  string
	write bool
}

// tokenName is a token's loggable name: a short prefix of its SHA-256,
// enough to tell tokens apart in the access log, useless to an attacker.
func tokenName(sum [sha256.Size]byte) string {
	return "token:" + hex.EncodeToString(sum[:4])
}

// loadTokens reads auth.tokens_file: one token a line, "TOKEN" (read
// only) or "TOKEN write" (write scope); blank lines and # comments are
// skipped.
func loadTokens(path string) ([]token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth.tokens_file: %v", err)
	}
	defer f.Close()
	var out []token
	seen := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		t := token{sum: sha256.Sum256([]byte(fields[0]))}
		t.name = tokenName(t.sum)
		switch {
		case len(fields) == 1, len(fields) == 2 && fields[1] == "read":
		case len(fields) == 2 && fields[1] == "write":
			t.write = true
		default:
			// The line is not echoed: it holds a token.
			return nil, fmt.Errorf("auth.tokens_file %s line %d: want TOKEN or TOKEN write, got %d fields", path, n, len(fields))
		}
		if prev, dup := seen[t.sum]; dup {
			return nil, fmt.Errorf("auth.tokens_file %s line %d: the token of line %d again: list each token once", path, n, prev)
		}
		seen[t.sum] = n
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth.tokens_file %s: %v", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("auth.tokens_file %s holds no token: add one token a line, or leave tokens_file empty", path)
	}
	return out, nil
}

// loadChefKeys reads auth.chef_keys_dir: every NAME.pem in it is the RSA
// public key of the Chef user or client NAME. Other files are ignored.
func loadChefKeys(dir string) (map[string]*rsa.PublicKey, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("auth.chef_keys_dir: %v", err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok || name == "" || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("auth.chef_keys_dir: %v", err)
		}
		k, err := parsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("auth.chef_keys_dir: %s: %v", p, err)
		}
		out[name] = k
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("auth.chef_keys_dir %s holds no NAME.pem public key: add one per Chef user or client, or leave chef_keys_dir empty", dir)
	}
	return out, nil
}

// parsePublicKey takes what Chef tools hand out: a PKIX "PUBLIC KEY"
// (knife user key show, chef-server-ctl), a PKCS#1 "RSA PUBLIC KEY", or a
// certificate. A private key is refused: it does not belong on a server.
func parsePublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block: want the user's public key (-----BEGIN PUBLIC KEY-----)")
	}
	var pub any
	var err error
	switch blk.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
			pub = c.PublicKey
		}
	case "RSA PRIVATE KEY", "PRIVATE KEY":
		return nil, errors.New("is a private key: keep only the public key here (openssl rsa -in KEY -pubout)")
	default:
		return nil, fmt.Errorf("PEM block %q: want a PUBLIC KEY", blk.Type)
	}
	if err != nil {
		return nil, err
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key (%T): Chef signs with RSA", pub)
	}
	return k, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
