package shards

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/go-chef/chef"
	lru "github.com/hashicorp/golang-lru/v2"
)

// signer builds and signs shard requests exactly as go-chef's
// Client.NewRequest does with AuthenticationVersion "1.0" (go-chef
// v0.30.1, http.go NewRequest and AuthConfig.SignRequest): the same URL,
// the same re-encoded query string, the same headers with the same
// values, the same canonical string. Only the RSA operation differs:
// go-chef's privateEncrypt works on math/big (variable-time; with a key
// parsed by crypto/x509, which precomputes, it takes its own CRT branch);
// crypto/rsa's SignPKCS1v15 with crypto.Hash(0) computes the same PKCS#1
// v1.5 type-1 "private encrypt" of the canonical string with its
// constant-time CRT code. The body is read once and its Content-Type
// found without decoding it again. BenchmarkSign and BenchmarkSignRSA
// compare the two.
//
// The field names keep the shape of chef.Client that Client.do and
// Client.DoStream use: NewRequest and Client.
type signer struct {
	// Client sends the signed requests (the shard timeout, the shared
	// transport).
	Client *http.Client

	base *url.URL
	name string
	key  *rsa.PrivateKey
	// chefVersion is X-Chef-Version: go-chef's DefaultChefVersion, as
	// go-chef sends when Config.ServerVersion is empty.
	chefVersion string
	// now is the signing clock; nil is time.Now.
	now func() time.Time
	// memo keeps the last signatures made. Protocol 1.0 signs the path
	// without its query string, the body's hash and the second: every
	// page of one search within a second has the same canonical string,
	// and PKCS#1 v1.5 signs it to the same bytes, so signing it again
	// (about 1 ms of CPU) is only waste. A few entries cover the pages
	// of the searches under way; the timestamp retires them.
	memo *lru.Cache[string, []byte]
}

// signMemo is how many signatures a shard client remembers.
const signMemo = 16

// newSigner parses the key as go-chef does (PKCS#1 or PKCS#8 PEM) and
// precomputes its CRT values once.
func newSigner(baseURL, name, pemKey string, hc *http.Client) (*signer, error) {
	key, err := chef.PrivateKeyFromString([]byte(pemKey))
	if err != nil {
		return nil, err
	}
	key.Precompute()
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	memo, err := lru.New[string, []byte](signMemo)
	if err != nil {
		return nil, err
	}
	return &signer{Client: hc, base: base, name: name, key: key, chefVersion: chef.DefaultChefVersion, memo: memo}, nil
}

// NewRequest is go-chef's Client.NewRequest for protocol 1.0. rel is
// relative to the base URL; body, when not nil, is read whole.
func (s *signer) NewRequest(method, rel string, body io.Reader) (*http.Request, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = io.ReadAll(body); err != nil {
			return nil, err
		}
	}
	relURL, err := url.Parse(rel)
	if err != nil {
		return nil, err
	}
	u := s.base.ResolveReference(relURL)
	var rd io.Reader // a nil io.Reader without a body, as go-chef passes
	if body != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	// go-chef re-encodes the query string: keys sorted, values escaped
	// by url.Values.Encode.
	req.URL.RawQuery = req.URL.Query().Encode()
	if body != nil {
		req.Header.Set("Content-Type", contentType(data))
	}
	req.Header.Set("X-Ops-Content-Hash", hashStr(data))
	if err := s.sign(req); err != nil {
		return nil, err
	}
	return req, nil
}

// contentType is go-chef's Body.ContentType: application/json when the
// body unmarshals into a struct, else http.DetectContentType. Shard
// bodies come from json.Marshal, so they are valid JSON, and valid JSON
// unmarshals into struct{} exactly when it is an object or null; that is
// checked here without decoding the body again.
func contentType(b []byte) string {
	if (len(b) > 0 && b[0] == '{') || string(b) == "null" {
		return "application/json"
	}
	return http.DetectContentType(b)
}

// hashStr is go-chef's HashStr: base64 of the SHA-1.
func hashStr(b []byte) string {
	sum := sha1.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// sign is AuthConfig.SignRequest for version 1.0: it cleans the URL path,
// sets go-chef's header set (an empty X-Ops-Request-Source and a "Method"
// header included, as go-chef sends them) and the X-Ops-Authorization-N
// lines.
func (s *signer) sign(req *http.Request) error {
	endpoint := req.URL.Path
	if endpoint != "" {
		endpoint = path.Clean(endpoint)
		req.URL.Path = endpoint
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	ts := now().UTC().Format(time.RFC3339)
	h := req.Header
	h.Set("Method", req.Method)
	h.Set("Accept", "application/json")
	h.Set("X-Chef-Version", s.chefVersion)
	h.Set("X-Ops-Server-API-Version", "1")
	h.Set("X-Ops-Timestamp", ts)
	h.Set("X-Ops-UserId", s.name)
	h.Set("X-Ops-Sign", "algorithm=sha1;version=1.0")
	h.Set("X-Ops-Request-Source", "")
	content := "Method:" + req.Method +
		"\nHashed Path:" + hashStr([]byte(endpoint)) +
		"\nX-Ops-Content-Hash:" + h.Get("X-Ops-Content-Hash") +
		"\nX-Ops-Timestamp:" + ts +
		"\nX-Ops-UserId:" + s.name
	sig, err := s.signContent(content)
	if err != nil {
		return err
	}
	for i, l := range base64Lines(sig, 60) {
		h.Set("X-Ops-Authorization-"+strconv.Itoa(i+1), l)
	}
	return nil
}

// signContent is protocol 1.0's RSA "private encrypt" of the canonical
// string: PKCS#1 v1.5 type-1 padding of the string itself, no DigestInfo.
//
// The signature is always the modulus' length (256 bytes for a 2048-bit
// key). go-chef's privateEncrypt returns big.Int.Bytes(), so one
// signature in 256 (a leading zero byte) is a byte shorter and its
// base64 differs; every other signature is byte for byte the same.
// Full length is what RFC 8017 (I2OSP to k octets), knife
// (mixlib-authentication on Ruby's OpenSSL private_encrypt) and Go's
// rsa.VerifyPKCS1v15 expect; OpenSSL, and so Chef Server and goiardi,
// and Shearch's own auth package take both.
//
// Keys crypto/rsa will not sign with (shorter than 1024 bits under Go's
// default rsa1024min, more than two primes) are signed by go-chef's own
// code, as before.
func (s *signer) signContent(content string) ([]byte, error) {
	if s.memo != nil {
		if sig, ok := s.memo.Get(content); ok {
			return sig, nil
		}
	}
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.Hash(0), []byte(content))
	if err != nil {
		if sig, err = chef.GenerateSignature(s.key, content); err != nil {
			return nil, err
		}
	}
	if s.memo != nil {
		s.memo.Add(content, sig)
	}
	return sig, nil
}

// base64Lines is go-chef's Base64BlockEncode: the standard base64 of b
// in lines of at most n characters.
func base64Lines(b []byte, n int) []string {
	s := base64.StdEncoding.EncodeToString(b)
	lines := make([]string, 0, (len(s)+n-1)/n)
	for len(s) > n {
		lines = append(lines, s[:n])
		s = s[n:]
	}
	if s != "" {
		lines = append(lines, s)
	}
	return lines
}
