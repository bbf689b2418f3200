package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// DefaultReplayCacheSize bounds the signatures of Chef-signed writes kept
// at once (auth.replay_cache_size): 100,000 writes in a 15-minute window
// is over 100 a second, far above what a fleet's writers send, at about
// 60 bytes an entry.
const DefaultReplayCacheSize = 100_000

// decoyKey is verified against when a Chef-signed request names a user
// with no key, so that an unknown name takes as long to refuse as a known
// one with a wrong key. Verification needs no real key: any 2048-bit
// modulus costs the same.
var decoyKey = func() *rsa.PublicKey {
	b := make([]byte, 256)
	rand.Read(b)
	b[0] |= 0x80
	b[255] |= 1
	return &rsa.PublicKey{N: new(big.Int).SetBytes(b), E: 65537}
}()

// replayCache remembers the signatures of the Chef-signed writes seen in
// the skew window. A Chef signature covers the method, path, body hash,
// user and second, and RSA PKCS#1 v1.5 signs the same string to the same
// bytes, so a second use of a signature within the window is a replay
// (or the same write sent twice within one second, which a retry can
// wait out). Past the window the timestamp check refuses the signature
// anyway, so an entry lives only until then.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[[sha256.Size]byte]time.Time // signature digest -> when it may be forgotten
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: map[[sha256.Size]byte]time.Time{}}
}

// use records sig, valid until expires; it says false when sig was
// already used, and errFull when the cache holds max live signatures.
func (c *replayCache) use(sig []byte, now, expires time.Time) (bool, error) {
	// RSA signatures are numbers: one with its leading zero bytes dropped
	// (go-chef's 1.0 signer sends such) or put back verifies alike, so
	// both forms are one entry.
	k := sha256.Sum256(bytes.TrimLeft(sig, "\x00"))
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[k]; ok && now.Before(exp) {
		return false, nil
	}
	if len(c.seen) >= c.max {
		// Sweeping costs a pass over the map, paid only when it is full.
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return false, errFull
		}
	}
	c.seen[k] = expires
	return true, nil
}

var errFull = errors.New("replay cache full")

// CheckReplay refuses a Chef-signed request whose signature was already
// used within the skew window: 401 for a replay, 503 when the window
// already holds auth.replay_cache_size signatures. It is for writes: a
// replayed read only reads, and the same read sent twice in one second
// is ordinary. Requests that are not Chef-signed pass.
func (a *Authenticator) CheckReplay(r *http.Request) error {
	if a == nil || !isChefSigned(r) {
		return nil
	}
	s, err := parseSigned(r)
	if err != nil {
		return chefUnauthorized(r.Header.Get("X-Ops-Userid"), "%v", err)
	}
	// The signed string holds the timestamp's whole second, so the same
	// signature passes the clock check with any fraction of that second
	// (T.999Z): the entry lives until the last of them is refused.
	expires := s.timestamp.Truncate(time.Second).Add(a.opts.MaxSkew + time.Second)
	fresh, err := a.replay.use(s.signature, a.opts.Now(), expires)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("too many Chef-signed writes within %s to tell replays apart: retry in a minute (the operator can raise auth.replay_cache_size)", a.opts.MaxSkew),
			Reason:  fmt.Sprintf("auth.replay_cache_size (%d) live signatures held", a.opts.ReplayCacheSize)}
	}
	if !fresh {
		return chefUnauthorized(s.userID, "replayed signature: %s %s by %q signed at %s was already used", s.method, s.paths[0], s.userID, s.timestamp.UTC().Format(time.RFC3339))
	}
	return nil
}
