package search

import (
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache keeps merged answers for a short time. Off unless TTL > 0.
type Cache struct {
	TTL time.Duration
	// Size bounds the number of answers kept (least recently used go).
	Size int

	mu    sync.Mutex
	lru   *list.List
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	m   *mergedRows
	at  time.Time
}

func (c *Cache) get(key string) (*mergedRows, bool) {
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
		c.lru.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return ent.m, true
}

func (c *Cache) put(key string, m *mergedRows) {
	if c == nil || c.TTL <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items, c.lru = map[string]*list.Element{}, list.New()
	}
	if el, ok := c.items[key]; ok {
		c.lru.Remove(el)
	}
	c.items[key] = c.lru.PushFront(&cacheEntry{key: key, m: m, at: time.Now()})
	size := c.Size
	if size <= 0 {
		size = 256
	}
	for c.lru.Len() > size {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

// requestKey identifies what a merged answer depends on: everything but
// the page.
func requestKey(e *Engine, req Request, stream bool) string {
	sh := append([]string(nil), req.Shards...)
	sort.Strings(sh)
	var partial []string
	for k, v := range req.Partial {
		partial = append(partial, k+"="+strings.Join(v, "\x01"))
	}
	sort.Strings(partial)
	b, _ := json.Marshal([]any{req.Index, req.Query, e.Stack(req.Stack), sh, partial, req.Partial == nil, req.Deny, namesFirst(req, stream)})
	return string(b)
}

// merged returns the merged answer for req: from the cache, from an
// identical request already under way, or from a new fan-out. A shared
// fan-out runs on its own context, so one caller giving up does not fail
// the others.
func (e *Engine) merged(ctx context.Context, req Request, stream bool) (*mergedRows, bool, error) {
	key := requestKey(e, req, stream)
	m, ok := e.Cache.get(key)
	e.metrics.cacheLookup(e.Cache, ok)
	if ok {
		return m, true, nil
	}
	// Joiners share the fan-out and its shard slots; it stops when the
	// last of them leaves.
	v, err, _ := e.shared.do(ctx, key, e.requestTimeout(), func(fctx context.Context) (any, error) {
		m, err := e.fetchMerged(fctx, req, stream)
		if err == nil {
			e.Cache.put(key, m)
		}
		return m, err
	})
	if err != nil {
		return nil, false, err
	}
	return v.(*mergedRows), false, nil
}

func (e *Engine) flight() *singleflight.Group {
	e.flightOnce.Do(func() { e.flights = &singleflight.Group{} })
	return e.flights
}

// requestTimeout bounds a whole fan-out: a few times the per-shard
// timeout, since a shard answers in several pages.
func (e *Engine) requestTimeout() time.Duration {
	t := e.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	return 6 * t
}

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
		return "", errorf(http.StatusBadRequest, "bad cursor %q: pass back next_cursor exactly as received", s)
	}
	return c.After, nil
}
