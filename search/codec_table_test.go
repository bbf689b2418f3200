package search

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shearch/shearch/internal/fault"
)

// TestCursorCodec: a cursor carries the last name of a page back exactly,
// whatever the name holds, and anything else is refused with a line that
// says what to send.
func TestCursorCodec(t *testing.T) {
	for _, after := range []string{"", "web-01", "data_bag_item_users_alice", `quote " and \ slash`, "ünïcode/名前", "a,b&c=d?e#f", strings.Repeat("n", 300)} {
		c := encodeCursor(after)
		if strings.ContainsAny(c, "+/=") {
			t.Errorf("cursor %q for %q is not URL-safe", c, after)
		}
		got, err := decodeCursor(c)
		if err != nil || got != after {
			t.Errorf("decode(encode(%q)) = %q, %v", after, got, err)
		}
	}
	good := encodeCursor("web-01")
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct{ name, cursor string }{
		{"not base64", "!!not a cursor!!"},
		{"padded base64", good + "="},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(b64([]byte(`{"a":"?>?>"}`)))},
		{"cut short", good[:len(good)-3]},
		{"not JSON inside", b64([]byte("web-01"))},
		{"after is not a string", b64([]byte(`{"a":5}`))},
		{"trailing bytes", b64([]byte(`{"a":"x"}x`))},
		{"quotes and spaces", `"a b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeCursor(tc.cursor)
			want := fmt.Sprintf("bad cursor %q: pass back next_cursor exactly as received", tc.cursor)
			if err == nil || err.Error() != want {
				t.Fatalf("decode(%q): %v, want %q", tc.cursor, err, want)
			}
			if k := fault.KindOf(err); k != fault.BadRequest {
				t.Errorf("kind %v, want %v", k, fault.BadRequest)
			}
		})
	}
}

// TestCacheEviction runs each case's steps on a fresh cache, in a bubble
// whose clock only moves when a step sleeps: "put KEY BYTES", "get KEY"
// (hit) or "miss KEY", "sleep DURATION". It then checks the keys held,
// most recently used first, and their bytes.
func TestCacheEviction(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache *Cache
		steps []string
		held  string
		bytes int
	}{
		{name: "count bound drops the least recently used", cache: &Cache{TTL: time.Minute, Size: 2},
			steps: []string{"put a 1", "put b 1", "put c 1", "miss a"}, held: "c b", bytes: 2},
		{name: "a hit makes an answer recent", cache: &Cache{TTL: time.Minute, Size: 2},
			steps: []string{"put a 1", "put b 1", "get a", "put c 1", "miss b", "get a"}, held: "a c", bytes: 2},
		{name: "byte bound drops as many as it takes", cache: &Cache{TTL: time.Minute, MaxBytes: 100},
			steps: []string{"put a 30", "put b 30", "put c 30", "put d 60"}, held: "d c", bytes: 90},
		{name: "an answer over the byte bound is never kept", cache: &Cache{TTL: time.Minute, MaxBytes: 100},
			steps: []string{"put a 30", "put big 101", "miss big"}, held: "a", bytes: 30},
		{name: "an answer exactly at the byte bound is kept", cache: &Cache{TTL: time.Minute, MaxBytes: 100},
			steps: []string{"put a 30", "put b 100"}, held: "b", bytes: 100},
		{name: "replacing a key counts its bytes once", cache: &Cache{TTL: time.Minute, MaxBytes: 100},
			steps: []string{"put a 40", "put b 40", "put a 50"}, held: "a b", bytes: 90},
		{name: "replacing a key with one too big drops the old", cache: &Cache{TTL: time.Minute, MaxBytes: 100},
			steps: []string{"put a 40", "put a 200", "miss a"}, held: "", bytes: 0},
		{name: "default bounds: 256 answers", cache: &Cache{TTL: time.Minute},
			steps: append(puts(257, 1), "miss k0", "get k1"), held: "k1 " + keysDown(256, 2), bytes: 256},
		{name: "expired answers are misses and go", cache: &Cache{TTL: time.Second},
			steps: []string{"put a 10", "sleep 500ms", "put b 10", "sleep 600ms", "miss a", "get b"}, held: "b", bytes: 10},
		{name: "an answer at exactly its TTL is still served", cache: &Cache{TTL: time.Second},
			steps: []string{"put a 10", "sleep 1s", "get a"}, held: "a", bytes: 10},
		{name: "a zero TTL keeps nothing", cache: &Cache{},
			steps: []string{"put a 10", "miss a"}, held: "", bytes: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := tc.cache
				for _, step := range tc.steps {
					op, arg, _ := strings.Cut(step, " ")
					key, n, _ := strings.Cut(arg, " ")
					switch op {
					case "put":
						var size int
						fmt.Sscan(n, &size)
						c.put(key, &fullAnswer{size: size})
					case "get", "miss":
						if _, ok := c.get(key); ok != (op == "get") {
							t.Fatalf("%s: hit=%v", step, ok)
						}
					case "sleep":
						d, err := time.ParseDuration(arg)
						if err != nil {
							t.Fatal(err)
						}
						time.Sleep(d)
					default:
						t.Fatalf("unknown step %q", step)
					}
				}
				if got := heldKeys(c); got != tc.held {
					t.Errorf("held %q, want %q", got, tc.held)
				}
				if c.bytes != tc.bytes {
					t.Errorf("bytes %d, want %d", c.bytes, tc.bytes)
				}
			})
		})
	}
}

// puts is n steps putting keys k0..k(n-1) of size bytes each.
func puts(n, size int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("put k%d %d", i, size))
	}
	return out
}

// keysDown is "kFROM ... kTO", counting down.
func keysDown(from, to int) string {
	var out []string
	for i := from; i >= to; i-- {
		out = append(out, fmt.Sprintf("k%d", i))
	}
	return strings.Join(out, " ")
}

// heldKeys lists the cache's keys, most recently used first, and checks
// the list and the map agree.
func heldKeys(c *Cache) string {
	if c.lru == nil {
		return ""
	}
	var keys []string
	for el := c.lru.Front(); el != nil; el = el.Next() {
		keys = append(keys, el.Value.(*cacheEntry).key)
	}
	if len(keys) != len(c.items) {
		return fmt.Sprintf("list %v but %d in the map", keys, len(c.items))
	}
	return strings.Join(keys, " ")
}
