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
	"sync"
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
	// ReplayCacheSize bounds the signatures of Chef-signed writes kept
	// for the skew window (auth.replay_cache_size); 0 is
	// DefaultReplayCacheSize.
	ReplayCacheSize int
	// Now is the clock signed timestamps are checked against; nil is
	// time.Now.
	Now func() time.Time
	// Log gets reload outcomes; nil discards them.
	Log *slog.Logger
}

// Error is an authentication or authorization failure: Status is 401,
// 403, 413 or 503, and Message says what is wrong in words the caller can
// act on. A 401's Message is the same whatever failed, as Chef Server's
// is, so that it tells a stranger neither which names exist nor how the
// server is laid out; Reason says what really failed, for the server's
// log only. Neither ever holds a key or a token.
type Error struct {
	Status  int
	Message string
	Reason  string
}

func (e *Error) Error() string { return e.Message }

// LogReason is what the server log says about the failure.
func (e *Error) LogReason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Message
}

// ChefFailure is Chef Server's answer to any Chef-signed request that
// does not authenticate: the name as sent, and nothing else.
func ChefFailure(name string) string {
	return "Failed to authenticate as '" + name + "'. Ensure that your node_name and client key are correct."
}

// chefUnauthorized is a Chef-signed request's 401: the public message is
// ChefFailure, the reason goes to the log.
func chefUnauthorized(name, format string, a ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Message: ChefFailure(name), Reason: fmt.Sprintf(format, a...)}
}

// tokenUnauthorized is the 401 of a request with a missing, unknown or
// unusable credential that is not a Chef signature: one message for all.
func (a *Authenticator) tokenUnauthorized(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Message: "Failed to authenticate: no valid credentials: " + a.howTo(), Reason: fmt.Sprintf(format, args...)}
}

// Authenticator tells who sent a request: a bearer token from the tokens
// file or a Chef-signed request verified against the keys folder. Both
// are swapped whole on Reload, so a request sees one consistent set.
type Authenticator struct {
	opts   Options
	set    atomic.Pointer[credentials]
	replay *replayCache
	// reload serialises Reload and SetWriters, each a read-modify-swap
	// of set.
	reload sync.Mutex
}

type credentials struct {
	tokens  []token
	keys    map[string]*rsa.PublicKey
	writers map[string]bool
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
	if o.ReplayCacheSize <= 0 {
		o.ReplayCacheSize = DefaultReplayCacheSize
	}
	a := &Authenticator{opts: o, replay: newReplayCache(o.ReplayCacheSize)}
	writers, err := a.checkWriters(o.Writers)
	if err != nil {
		return nil, err
	}
	c, err := a.load()
	if err != nil {
		return nil, err
	}
	c.writers = writers
	a.warnKeyless(c)
	a.set.Store(c)
	return a, nil
}

// checkWriters turns auth.writers into a set, or says what is wrong.
func (a *Authenticator) checkWriters(list []string) (map[string]bool, error) {
	writers := map[string]bool{}
	for i, w := range list {
		if strings.TrimSpace(w) == "" {
			return nil, fmt.Errorf("auth.writers[%d] is empty: list Chef user or client names", i)
		}
		writers[w] = true
	}
	if len(list) > 0 && a.opts.ChefKeysDir == "" {
		return nil, errors.New("auth.writers is set but auth.chef_keys_dir is not: writers are Chef-signed names, so give their keys")
	}
	return writers, nil
}

func (a *Authenticator) warnKeyless(c *credentials) {
	for _, w := range sortedKeys(c.writers) {
		if c.keys[w] == nil {
			a.opts.Log.Warn("auth.writers names a caller with no key in auth.chef_keys_dir yet", "writer", w)
		}
	}
}

// SetWriters replaces auth.writers (on SIGHUP, from the re-read config
// file). A bad list is an error and the old set stays in force.
func (a *Authenticator) SetWriters(list []string) error {
	if a == nil {
		return nil
	}
	writers, err := a.checkWriters(list)
	if err != nil {
		a.opts.Log.Error("auth.writers reload failed; keeping the previous writers", "err", err)
		return err
	}
	a.reload.Lock()
	defer a.reload.Unlock()
	old := a.set.Load()
	c := *old
	c.writers = writers
	a.warnKeyless(&c)
	a.set.Store(&c)
	a.opts.Log.Info("auth.writers reloaded", "writers", len(writers))
	return nil
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
	a.reload.Lock()
	defer a.reload.Unlock()
	c, err := a.load()
	if err != nil {
		a.opts.Log.Error("auth reload failed; keeping the previous tokens and keys", "err", err)
		return err
	}
	c.writers = a.set.Load().writers
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
		return Caller{}, a.tokenUnauthorized("the Authorization header is not a bearer token")
	}
	return Caller{}, a.tokenUnauthorized("missing credentials")
}

// howTo names the ways in, not the files behind them.
func (a *Authenticator) howTo() string {
	var ways []string
	if a.opts.TokensFile != "" {
		ways = append(ways, "send Authorization: Bearer <token> (SHEARCH_TOKEN for gnife)")
	}
	if a.opts.ChefKeysDir != "" {
		ways = append(ways, "sign the request with your Chef user or client key (knife, go-chef)")
	}
	return strings.Join(ways, ", or ")
}

// byToken compares the token with every known one in constant time: the
// SHA-256 of each side is compared, so neither the length nor the
// position of a match shows in the timing.
func (a *Authenticator) byToken(c *credentials, tok string) (Caller, error) {
	if a.opts.TokensFile == "" {
		return Caller{}, a.tokenUnauthorized("a bearer token, but auth.tokens_file is not set")
	}
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i := range c.tokens {
		if subtle.ConstantTimeCompare(c.tokens[i].sum[:], sum[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return Caller{}, a.tokenUnauthorized("unknown bearer token %s: not in auth.tokens_file", tokenName(sum))
	}
	t := c.tokens[match]
	return Caller{Name: t.name, Method: "token", Write: t.write}, nil
}

// byChefSignature checks a Chef-signed request the way Chef Server
// does. Every failure but a clock out of the window answers the same
// ChefFailure: the timestamp is checked first, for any name, so even that
// answer tells nothing about which names exist; and an unknown name
// costs the same RSA verification as a known one.
func (a *Authenticator) byChefSignature(c *credentials, r *http.Request) (Caller, error) {
	name := strings.TrimSpace(r.Header.Get("X-Ops-Userid"))
	if a.opts.ChefKeysDir == "" {
		return Caller{}, chefUnauthorized(name, "a Chef-signed request, but auth.chef_keys_dir is not set")
	}
	s, err := parseSigned(r)
	if err != nil {
		return Caller{}, chefUnauthorized(name, "%v", err)
	}
	if off := a.opts.Now().Sub(s.timestamp); off >= a.opts.MaxSkew || -off >= a.opts.MaxSkew {
		return Caller{}, &Error{Status: http.StatusUnauthorized,
			Message: fmt.Sprintf("Failed to authenticate as '%s'. Synchronize the clock on your host: the request's X-Ops-Timestamp is %s off the server's clock, more than the %s allowed.", s.userID, off.Abs().Round(time.Second), a.opts.MaxSkew),
			Reason:  fmt.Sprintf("timestamp %s of %q's request is more than %s off the server's clock (%s): check the client's clock", s.timestamp.UTC().Format(time.RFC3339), s.userID, a.opts.MaxSkew, a.opts.Now().UTC().Format(time.RFC3339))}
	}
	key := c.keys[s.userID]
	if key == nil {
		s.verify(decoyKey)
		return Caller{}, chefUnauthorized(s.userID, "unknown user %q: no key %s.pem in auth.chef_keys_dir", s.userID, s.userID)
	}
	if !s.verify(key) {
		return Caller{}, chefUnauthorized(s.userID, "signature of %s %s by %q (X-Ops-Sign version %s) does not verify: check the client key and node_name, and that nothing rewrote the request on the way", s.method, s.paths[0], s.userID, s.version)
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
		return Caller{}, chefUnauthorized(s.userID, "X-Ops-Content-Hash does not match the body of %q's request: the body changed after signing", s.userID)
	}
	return Caller{Name: s.userID, Method: "chef", Write: c.writers[s.userID]}, nil
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
