package auth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file verifies Chef-signed requests as mixlib-authentication's
// SignatureVerification (and Chef Server) does. No maintained Go library
// verifies them: go-chef only signs, so the verifier is written here,
// following lib/mixlib/authentication/signedheaderauth.rb.

// algorithmFor is mixlib's ALGORITHM_FOR_VERSION.
var algorithmFor = map[string]string{"1.0": "sha1", "1.1": "sha1", "1.3": "sha256"}

// signedRequest is what a Chef-signed request claims, from its headers.
type signedRequest struct {
	method      string
	paths       []string // canonical path candidates (raw and decoded)
	userID      string
	version     string
	algorithm   string
	timestamp   time.Time
	contentHash string
	apiVersion  string
	signature   []byte
}

// isChefSigned says whether r carries Chef signing headers at all.
func isChefSigned(r *http.Request) bool {
	return r.Header.Get("X-Ops-Userid") != "" || r.Header.Get("X-Ops-Sign") != "" || r.Header.Get("X-Ops-Authorization-1") != ""
}

// parseSigned reads the signing headers; an error names the header that
// is missing or malformed.
func parseSigned(r *http.Request) (*signedRequest, error) {
	s := &signedRequest{method: strings.ToUpper(r.Method)}
	for _, h := range []string{"X-Ops-Userid", "X-Ops-Sign", "X-Ops-Timestamp", "X-Ops-Content-Hash", "X-Ops-Authorization-1"} {
		if strings.TrimSpace(r.Header.Get(h)) == "" {
			return nil, fmt.Errorf("Chef-signed request without its %s header: sign the whole request (knife, go-chef and mixlib-authentication do)", h)
		}
	}
	s.userID = strings.TrimSpace(r.Header.Get("X-Ops-Userid"))
	s.contentHash = strings.TrimSpace(r.Header.Get("X-Ops-Content-Hash"))
	s.apiVersion = strings.TrimSpace(r.Header.Get("X-Ops-Server-Api-Version"))
	if s.apiVersion == "" {
		s.apiVersion = "0" // mixlib's default when the header is absent
	}
	desc := map[string]string{}
	for _, part := range strings.Split(strings.TrimSpace(r.Header.Get("X-Ops-Sign")), ";") {
		k, v, _ := strings.Cut(part, "=")
		if k = strings.TrimSpace(k); k != "" {
			desc[k] = strings.TrimSpace(v)
		}
	}
	s.version = desc["version"]
	if s.version == "" {
		s.version = "1.0"
	}
	want, ok := algorithmFor[s.version]
	if !ok {
		return nil, fmt.Errorf("X-Ops-Sign version %q is not supported: sign with version 1.0, 1.1 or 1.3", s.version)
	}
	// Old clients leave the algorithm out; go-chef does for 1.3. The
	// version implies it.
	s.algorithm = desc["algorithm"]
	if s.algorithm == "" {
		s.algorithm = want
	}
	if s.algorithm != want {
		return nil, fmt.Errorf("X-Ops-Sign algorithm %s does not go with version %s (want %s)", s.algorithm, s.version, want)
	}
	ts := strings.TrimSpace(r.Header.Get("X-Ops-Timestamp"))
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, fmt.Errorf("X-Ops-Timestamp %q is not an ISO 8601 time such as 2026-11-30T09:34:02Z", ts)
	}
	s.timestamp = t
	sig, err := joinSignature(r.Header)
	if err != nil {
		return nil, err
	}
	s.signature = sig
	// Rack signs the path as it came on the request line; go-chef signs
	// the decoded path. Both name the same resource, so either verifies.
	s.paths = []string{canonicalPath(r.URL.EscapedPath())}
	if p := canonicalPath(r.URL.Path); p != s.paths[0] {
		s.paths = append(s.paths, p)
	}
	return s, nil
}

var authHeader = regexp.MustCompile(`^X-Ops-Authorization-(\d+)$`)

// joinSignature puts X-Ops-Authorization-1..N back together in numeric
// order (the base64 signature split in 60-character lines).
func joinSignature(h http.Header) ([]byte, error) {
	type part struct {
		n int
		v string
	}
	var parts []part
	for k, vs := range h {
		m := authHeader.FindStringSubmatch(http.CanonicalHeaderKey(k))
		if m == nil || len(vs) == 0 {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		parts = append(parts, part{n, strings.TrimSpace(vs[0])})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].n < parts[j].n })
	var b strings.Builder
	for i, p := range parts {
		if p.n != i+1 {
			return nil, fmt.Errorf("X-Ops-Authorization-%d is missing: the signature lines must run 1..N", i+1)
		}
		b.WriteString(p.v)
	}
	sig, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, fmt.Errorf("the X-Ops-Authorization-N headers are not base64: %v", err)
	}
	return sig, nil
}

var slashes = regexp.MustCompile(`/+`)

// canonicalPath is mixlib's canonical_path: repeated slashes squeezed,
// a trailing slash dropped unless the path is "/".
func canonicalPath(p string) string {
	p = slashes.ReplaceAllString(p, "/")
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

func newHash(algorithm string) hash.Hash {
	if algorithm == "sha256" {
		return sha256.New()
	}
	return sha1.New()
}

// hashString is mixlib's Digester.hash_string: base64 of the digest.
func hashString(algorithm string, b []byte) string {
	h := newHash(algorithm)
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// canonical is the string the client signed (signedheaderauth.rb's
// canonicalize_request) for one path candidate.
func (s *signedRequest) canonical(path string) string {
	ts := s.timestamp.UTC().Format("2006-01-02T15:04:05Z")
	if s.version == "1.3" {
		return strings.Join([]string{
			"Method:" + s.method,
			"Path:" + path,
			"X-Ops-Content-Hash:" + s.contentHash,
			"X-Ops-Sign:version=" + s.version,
			"X-Ops-Timestamp:" + ts,
			"X-Ops-UserId:" + s.userID,
			"X-Ops-Server-API-Version:" + s.apiVersion,
		}, "\n")
	}
	user := s.userID
	if s.version == "1.1" {
		user = hashString("sha1", []byte(user))
	}
	return strings.Join([]string{
		"Method:" + s.method,
		"Hashed Path:" + hashString("sha1", []byte(path)),
		"X-Ops-Content-Hash:" + s.contentHash,
		"X-Ops-Timestamp:" + ts,
		"X-Ops-UserId:" + user,
	}, "\n")
}

// verify checks the signature against key. Versions 1.0 and 1.1 are an
// RSA private-key encryption of the canonical string itself (PKCS#1 v1.5
// padding, no DigestInfo); 1.3 is an ordinary RSA SHA-256 signature.
func (s *signedRequest) verify(key *rsa.PublicKey) bool {
	sig := s.signature
	// OpenSSL, and so Chef Server, takes a signature that lost its
	// leading zero bytes; go-chef's 1.0/1.1 signer sends one such in 256.
	// Go's verifier wants exactly the modulus' length.
	if k := key.Size(); len(sig) < k {
		sig = append(make([]byte, k-len(sig)), sig...)
	}
	for _, p := range s.paths {
		c := []byte(s.canonical(p))
		var err error
		if s.version == "1.3" {
			d := sha256.Sum256(c)
			err = rsa.VerifyPKCS1v15(key, crypto.SHA256, d[:], sig)
		} else {
			err = rsa.VerifyPKCS1v15(key, crypto.Hash(0), c, sig)
		}
		if err == nil {
			return true
		}
	}
	return false
}
