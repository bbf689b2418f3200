package search

import (
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/shearch/shearch/internal/fault"
)

// Cache keeps merged answers for a short time. Off unless TTL > 0. It is
// bounded in bytes as well as entries: one answer for *:* over a big
// fleet weighs more than thousands of small ones. golang-lru/v2 evicts by
// count only, so this keeps its own byte-weighted LRU list.
type Cache struct {
	TTL time.Duration
	// Size bounds the number of answers kept (least recently used go).
	Size int
	// MaxBytes bounds the bytes of the answers kept (default 64 MiB);
	// an answer bigger than that is not kept at all.
	MaxBytes int

	mu    sync.Mutex
	lru   *list.List
	items map[string]*list.Element
	bytes int
}

const (
	defaultCacheBytes = 64 << 20
	defaultOrderTTL   = 30 * time.Second
	defaultOrderBytes = 64 << 20
)

type cacheEntry struct {
	key string
	m   *fullAnswer
	at  time.Time
}

func (c *Cache) get(key string) (*fullAnswer, bool) {
	if c == nil || c.TTL <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	ent := el.Value.(*cacheEntry)
	if time.Since(ent.at) > c.TTL {
		c.remove(el)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return ent.m, true
}

func (c *Cache) remove(el *list.Element) {
	ent := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.items, ent.key)
	c.bytes -= ent.m.size
}

func (c *Cache) put(key string, m *fullAnswer) {
	if c == nil || c.TTL <= 0 {
		return
	}
	maxBytes := c.MaxBytes
	if maxBytes <= 0 {
		maxBytes = defaultCacheBytes
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items, c.lru = map[string]*list.Element{}, list.New()
	}
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	if m.size > maxBytes {
		return
	}
	c.items[key] = c.lru.PushFront(&cacheEntry{key: key, m: m, at: time.Now()})
	c.bytes += m.size
	size := c.Size
	if size <= 0 {
		size = 256
	}
	for c.lru.Len() > size || c.bytes > maxBytes {
		c.remove(c.lru.Back())
	}
}

// requestKey identifies what a merged answer depends on: everything but
// the page. It is JSON, which quotes every string, so no key or path can
// pass for a separator: {"a=b":["c"]} and {"a":["b=c"]} are two keys
// (json.Marshal writes a map's keys sorted, so equal maps match).
func requestKey(e *Engine, req Request) string {
	sh := append([]string(nil), req.Shards...)
	sort.Strings(sh)
	b, _ := json.Marshal([]any{req.Index, req.Query, e.Stack(req.Stack), sh, req.Partial, req.Partial == nil, req.PartialDeny})
	return string(b)
}

// merged returns the merged answer for req: from the cache, from an
// identical request already under way, or from a new fan-out. A later
// page of a walk (start > 0, or a cursor) reuses the merged order of its
// first page for OrderTTL, so a walk does not fan out to the whole fleet
// per page. A shared fan-out runs on its own context, so one caller
// giving up does not fail the others.
func (e *Engine) answer(ctx context.Context, req *plan) (*fullAnswer, bool, error) {
	key := req.key
	if m, ok := e.heldAnswer(req); ok {
		return m, true, nil
	}
	// Joiners share the fan-out and its shard slots; it stops when the
	// last of them leaves.
	v, err, _ := e.shared.Do(ctx, key, e.RequestTimeout(), func(fctx context.Context) (any, error) {
		m, err := e.fetchAnswer(fctx, req)
		if err == nil {
			e.Cache.put(key, m)
			e.orders.put(key, m)
		}
		return m, err
	})
	if err != nil {
		return nil, false, err
	}
	return v.(*fullAnswer), false, nil
}

// heldAnswer is the merged answer to req already in memory: in the answer
// cache, or, for a later page, in the order an earlier page left.
func (e *Engine) heldAnswer(req *plan) (*fullAnswer, bool) {
	m, ok := e.Cache.get(req.key)
	e.metrics.cacheLookup(e.Cache, ok)
	if ok {
		return m, true
	}
	if req.Start > 0 || req.Cursor != "" {
		if m, ok := e.orders.get(req.key); ok {
			return m, true
		}
	}
	return nil, false
}

// RequestTimeout bounds a request's shared work (a whole fan-out, a
// drift scan): a few times the per-shard timeout, since a shard answers
// in several pages.
func (e *Engine) RequestTimeout() time.Duration { return requestTimeouts * e.Timeout }

type cursor struct {
	After string `json:"a"`
}

func encodeCursor(after string) string {
	b, _ := json.Marshal(cursor{After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return "", fault.Errorf(fault.BadRequest, "bad cursor %q: pass back next_cursor exactly as received", s)
	}
	return c.After, nil
}

// ForgetAnswers empties the search cache. Writes call it: an answer
// cached before a write must not be served after it. (Other Shearch
// replicas keep theirs until their cache_ttl passes.)
func (e *Engine) ForgetAnswers() { e.Cache.purge() }

func (c *Cache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items, c.lru = nil, nil
}
