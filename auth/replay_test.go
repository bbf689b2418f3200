package auth

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// A signature is good once within the skew window; the window's
// signatures are bounded by ReplayCacheSize (past it, a 503 rather than
// forgetting one that could then be replayed); once the window has passed
// they are forgotten, and the timestamp check refuses them anyway.
func TestReplayCache(t *testing.T) {
	ks := knifeRequests(t)
	var now time.Time
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return now }, ReplayCacheSize: 2})
	now = ks[0].at(t).Add(time.Minute)
	for i := 0; i < 2; i++ {
		if err := a.CheckReplay(ks[i].request()); err != nil {
			t.Fatalf("first use of request %d: %v", i+1, err)
		}
	}
	wantStatus(t, "second use", a.CheckReplay(ks[0].request()), 401, "replayed signature")
	wantStatus(t, "a third signature in the window", a.CheckReplay(ks[2].request()), 503, "auth.replay_cache_size (2)")
	now = now.Add(DefaultMaxSkew)
	if err := a.CheckReplay(ks[2].request()); err != nil {
		t.Fatalf("after the window the old signatures are swept: %v", err)
	}
	// A bearer-token request is not checked.
	r := httptest.NewRequest("POST", "/nodes", nil)
	r.Header.Set("Authorization", "Bearer x")
	if err := a.CheckReplay(r); err != nil || a.CheckReplay(r) != nil {
		t.Fatalf("a token request: %v", err)
	}
}

// SetWriters swaps auth.writers whole; an empty name keeps the old set.
func TestSetWriters(t *testing.T) {
	var now time.Time
	dir := keysDir(t, map[string][]byte{"alice": alicePub(t)})
	a := newAuth(t, Options{ChefKeysDir: dir, Now: func() time.Time { return now }, Writers: []string{"alice"},
		TokensFile: writeFile(t, filepath.Join(t.TempDir(), "tokens"), "t\n")})
	k := knifeRequests(t)[0]
	now = k.at(t)
	if c, err := a.Authenticate(k.request()); err != nil || !c.Write {
		t.Fatalf("alice as a writer: %+v %v", c, err)
	}
	if err := a.SetWriters([]string{"bob"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil { // a reload of the files keeps the writers
		t.Fatal(err)
	}
	if c, err := a.Authenticate(k.request()); err != nil || c.Write {
		t.Fatalf("alice after she was removed: %+v %v", c, err)
	}
	if err := a.SetWriters([]string{"alice", " "}); err == nil {
		t.Fatal("a blank writer name was taken")
	}
	if c, _ := a.Authenticate(k.request()); c.Write {
		t.Fatal("a refused writers list replaced the old one")
	}
}

// A replay cannot outlive its cache entry by moving X-Ops-Timestamp within
// its second: the signed string holds whole seconds, so T.999Z verifies
// with T's signature and passes the clock check almost a second after T's
// entry was forgotten.
func TestReplayFractionalTimestamp(t *testing.T) {
	k := knifeRequests(t)[0]
	var now time.Time
	a := newAuth(t, Options{ChefKeysDir: keysDir(t, map[string][]byte{"alice": alicePub(t)}), Now: func() time.Time { return now }})
	now = k.at(t).Add(time.Minute)
	if _, err := a.Authenticate(k.request()); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckReplay(k.request()); err != nil {
		t.Fatalf("first use: %v", err)
	}
	now = k.at(t).Add(DefaultMaxSkew + 500*time.Millisecond)
	r := k.request()
	r.Header.Set("X-Ops-Timestamp", k.at(t).Add(999*time.Millisecond).UTC().Format(time.RFC3339Nano))
	if _, err := a.Authenticate(r); err != nil {
		t.Fatalf("the moved timestamp no longer verifies, nothing to replay: %v", err)
	}
	wantStatus(t, "replay with the timestamp moved within its second", a.CheckReplay(r), 401, "replayed signature")
}
