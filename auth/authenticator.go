package auth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	// DefaultMaxSkew is Chef Server's: a signed request's timestamp may be
	// this far from the server's clock, either way.
	DefaultMaxSkew = 15 * time.Minute
	// DefaultMaxBody bounds the body read to check a Chef-signed
	// request's content hash; Chef Server's own request limit is 1 MB for
	// JSON objects, so 8 MiB leaves room without letting a caller make
	// Shearch buffer without end.
	DefaultMaxBody = 8 << 20
)

// Options configures an Authenticator. With neither TokensFile nor
// ChefKeysDir set, auth is off: every request is an anonymous reader.
type Options struct {
	// TokensFile is auth.tokens_file: "TOKEN" or "TOKEN write" a line.
	TokensFile string
	// ChefKeysDir is auth.chef_keys_dir: NAME.pem public keys.
	ChefKeysDir string
	// Writers are the Chef-signed names given write scope (auth.writers).
	Writers []string
	// MaxSkew is how far a signed timestamp may be from Now; 0 is
	// DefaultMaxSkew.
	MaxSkew time.Duration
	// MaxBody bounds the body of a Chef-signed request; 0 is
	// DefaultMaxBody.
	MaxBody int64
	// Now is the clock signed timestamps are checked against; nil is
	// time.Now.
	Now func() time.Time
	// Log gets reload outcomes; nil discards them.
	Log *slog.Logger
}

// Error is an authentication or authorization failure: Status is 401,
// 403 or 413, and Message says what is wrong in words the caller can act
// on. It never holds a key or a token.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func unauthorized(format string, a ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Message: fmt.Sprintf(format, a...)}
}

// Authenticator tells who sent a request: a bearer token from the tokens
// file or a Chef-signed request verified against the keys folder. Both
// are swapped whole on Reload, so a request sees one consistent set.
type Authenticator struct {
	opts    Options
	writers map[string]bool
	set     atomic.Pointer[credentials]
}

type credentials struct {
	tokens []token
	keys   map[string]*rsa.PublicKey
}

// New reads the tokens file and the keys folder; an error names the file
// and what is wrong with it.
func New(o Options) (*Authenticator, error) {
	if o.MaxSkew <= 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Authenticator{opts: o, writers: map[string]bool{}}
	for i, w := range o.Writers {
		if strings.TrimSpace(w) == "" {
			return nil, fmt.Errorf("auth.writers[%d] is empty: list Chef user or client names", i)
		}
		a.writers[w] = true
	}
	if len(o.Writers) > 0 && o.ChefKeysDir == "" {
		return nil, errors.New("auth.writers is set but auth.chef_keys_dir is not: writers are Chef-signed names, so give their keys")
	}
	c, err := a.load()
	if err != nil {
		return nil, err
	}
	for _, w := range o.Writers {
		if c.keys[w] == nil {
			o.Log.Warn("auth.writers names a caller with no key in auth.chef_keys_dir yet", "writer", w)
		}
	}
	a.set.Store(c)
	return a, nil
}

func (a *Authenticator) load() (*credentials, error) {
	c := &credentials{}
	var err error
	if a.opts.TokensFile != "" {
		if c.tokens, err = loadTokens(a.opts.TokensFile); err != nil {
			return nil, err
		}
	}
	if a.opts.ChefKeysDir != "" {
		if c.keys, err = loadChefKeys(a.opts.ChefKeysDir); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Enabled says whether any credentials are configured; when not, every
// request is let through as an anonymous reader.
func (a *Authenticator) Enabled() bool {
	return a != nil && (a.opts.TokensFile != "" || a.opts.ChefKeysDir != "")
}

// Reload re-reads the tokens file and the keys folder (on SIGHUP). When
// either is bad the old set stays in force and the error is returned and
// logged.
func (a *Authenticator) Reload() error {
	if !a.Enabled() {
		return nil
	}
	c, err := a.load()
	if err != nil {
		a.opts.Log.Error("auth reload failed; keeping the previous tokens and keys", "err", err)
		return err
	}
	a.set.Store(c)
	a.opts.Log.Info("auth reloaded", "tokens", len(c.tokens), "chef_keys", len(c.keys))
	return nil
}

// Names lists the Chef names that have a key now, for diagnostics.
func (a *Authenticator) Names() []string {
	if !a.Enabled() {
		return nil
	}
	return sortedKeys(a.set.Load().keys)
}

// Authenticate tells who sent r. A bearer token (Authorization: Bearer)
// is tried first, then Chef signing headers (whatever other Authorization
// a proxy may have added). A Chef-signed request's body
// is read to check its content hash and put back for the handler. The
// error is an *Error.
func (a *Authenticator) Authenticate(r *http.Request) (Caller, error) {
	if !a.Enabled() {
		return Caller{Method: "none"}, nil
	}
	c := a.set.Load()
	h := r.Header.Get("Authorization")
	// The scheme is case-insensitive (RFC 9110).
	if scheme, tok, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "Bearer") {
		return a.byToken(c, strings.TrimSpace(tok))
	}
	if isChefSigned(r) {
		return a.byChefSignature(c, r)
	}
	if h != "" {
		return Caller{}, unauthorized("the Authorization header is not a bearer token: send Authorization: Bearer <token>")
	}
	return Caller{}, unauthorized("missing credentials: %s", a.howTo())
}

func (a *Authenticator) howTo() string {
	var ways []string
	if a.opts.TokensFile != "" {
		ways = append(ways, "send Authorization: Bearer <token> (SHEARCH_TOKEN for gnife)")
	}
	if a.opts.ChefKeysDir != "" {
		ways = append(ways, "sign the request as a Chef user or client whose public key is in auth.chef_keys_dir (knife, go-chef)")
	}
	return strings.Join(ways, ", or ")
}

// byToken compares the token with every known one in constant time: the
// SHA-256 of each side is compared, so neither the length nor the
// position of a match shows in the timing.
func (a *Authenticator) byToken(c *credentials, tok string) (Caller, error) {
	if a.opts.TokensFile == "" {
		return Caller{}, unauthorized("bearer tokens are not accepted here (auth.tokens_file is not set): %s", a.howTo())
	}
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i := range c.tokens {
		if subtle.ConstantTimeCompare(c.tokens[i].sum[:], sum[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return Caller{}, unauthorized("unknown bearer token: use a token listed in auth.tokens_file")
	}
	t := c.tokens[match]
	return Caller{Name: t.name, Method: "token", Write: t.write}, nil
}

func (a *Authenticator) byChefSignature(c *credentials, r *http.Request) (Caller, error) {
	if a.opts.ChefKeysDir == "" {
		return Caller{}, unauthorized("Chef-signed requests are not accepted here (auth.chef_keys_dir is not set): %s", a.howTo())
	}
	s, err := parseSigned(r)
	if err != nil {
		return Caller{}, unauthorized("%v", err)
	}
	key := c.keys[s.userID]
	if key == nil {
		return Caller{}, unauthorized("unknown user %q: no key %s.pem in auth.chef_keys_dir", s.userID, s.userID)
	}
	if !s.verify(key) {
		return Caller{}, unauthorized("signature of %s %s by %q (X-Ops-Sign version %s) does not verify: check the client key and node_name, and that nothing rewrote the request on the way", s.method, s.paths[0], s.userID, s.version)
	}
	if off := a.opts.Now().Sub(s.timestamp); off >= a.opts.MaxSkew || -off >= a.opts.MaxSkew {
		return Caller{}, unauthorized("timestamp %s of %q's request is more than %s off the server's clock (%s): check the client's clock", s.timestamp.UTC().Format(time.RFC3339), s.userID, a.opts.MaxSkew, a.opts.Now().UTC().Format(time.RFC3339))
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, a.opts.MaxBody+1))
		r.Body.Close()
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return Caller{}, &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes (server.max_body_bytes)", tooBig.Limit)}
	}
	if err != nil {
		return Caller{}, &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("reading the request body: %v", err)}
	}
	if int64(len(body)) > a.opts.MaxBody {
		return Caller{}, &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", a.opts.MaxBody)}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if got := hashString(s.algorithm, body); got != s.contentHash {
		return Caller{}, unauthorized("X-Ops-Content-Hash does not match the body of %q's request: the body changed after signing", s.userID)
	}
	return Caller{Name: s.userID, Method: "chef", Write: a.writers[s.userID]}, nil
}

// RequireWrite returns nil when ctx's caller has write scope, else an
// *Error with status 403 saying how to get it.
func RequireWrite(ctx context.Context) error {
	c, _ := FromContext(ctx)
	if c.Write {
		return nil
	}
	var why string
	switch c.Method {
	case "token":
		why = fmt.Sprintf("%s may only read: give the token write scope with a line \"TOKEN write\" in auth.tokens_file", c.Name)
	case "chef":
		why = fmt.Sprintf("%q may only read: list it in auth.writers", c.Name)
	default:
		why = "writes need a caller with write scope: configure auth.tokens_file (\"TOKEN write\") or auth.chef_keys_dir and auth.writers"
	}
	return &Error{Status: http.StatusForbidden, Message: why}
}
