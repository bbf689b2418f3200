// Package fallback answers node queries from the Consul catalog for the
// nodes of a Chef shard that failed, so one dead Chef server does not hide
// its part of the fleet (DESIGN.md, "Consul data model").
package fallback

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/query"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// Config says where Consul is.
type Config struct {
	// Address of the Consul HTTP API, host:port or a URL.
	Address string
	// Timeout bounds a request that a search waits for (default 2s): the
	// fallback runs while a search is already late because of a shard.
	Timeout time.Duration
	// Service is the service every Chef node registers (default chef-node).
	Service string
	// CacheSize bounds the catalog answers kept, one per shard and pushed
	// down filter (default 64).
	CacheSize int
	// IdleTimeout stops following an answer nobody asked for in that long
	// (default 2m).
	IdleTimeout time.Duration
}

// Consul is a search.Fallback reading the Consul catalog.
//
// Catalog answers are cached per shard and filter, and each cached answer
// is kept current by a blocking query in the background, so while a shard
// is down every query is served from memory instead of scanning the
// catalog. An answer is served from the cache only while its blocking query
// is healthy: once Consul fails, the next query asks Consul again and
// reports the failure rather than serving a catalog that may be old.
type Consul struct {
	client  *consulapi.Client
	service string
	timeout time.Duration
	size    int
	idle    time.Duration
	// wait is the blocking query's wait; short enough that a hung Consul
	// is noticed within it.
	wait time.Duration
	// minGap spaces blocking queries on a busy catalog, as Consul asks.
	minGap time.Duration

	mu      sync.Mutex
	entries map[string]*cached
	closed  bool
	wg      sync.WaitGroup
}

var _ search.Fallback = (*Consul)(nil)

// cached is one catalog answer and the state of its follower.
type cached struct {
	key      string
	filter   filter
	nodes    []Entry
	index    uint64
	watching bool
	cancel   context.CancelFunc
	loading  *load
	lastUse  time.Time
}

// load is a fetch that concurrent queries for the same answer share.
type load struct {
	done  chan struct{}
	nodes []Entry
	err   error
}

// New checks cfg and makes a client; it does not contact Consul.
func New(cfg Config) (*Consul, error) {
	if cfg.Address == "" {
		return nil, errors.New("consul fallback: consul.address is empty")
	}
	if cfg.Timeout < 0 || cfg.IdleTimeout < 0 || cfg.CacheSize < 0 {
		return nil, errors.New("consul fallback: timeouts and cache size must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Service == "" {
		cfg.Service = "chef-node"
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 64
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	cc := consulapi.DefaultConfig()
	cc.Address = cfg.Address
	client, err := consulapi.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("consul fallback: consul.address %q: %v", cfg.Address, err)
	}
	return &Consul{client: client, service: cfg.Service, timeout: cfg.Timeout, size: cfg.CacheSize,
		idle: cfg.IdleTimeout, wait: 30 * time.Second, minGap: time.Second, entries: map[string]*cached{}}, nil
}

// Close stops the background blocking queries and waits for them.
func (c *Consul) Close() error {
	c.mu.Lock()
	c.closed = true
	for k, e := range c.entries {
		c.drop(k, e)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// Nodes answers the parsed query pq for the nodes Consul knows on shard.
// Rows whose match depends on fields Consul does not hold are left out,
// and those fields are returned as unchecked.
func (c *Consul) Nodes(ctx context.Context, shard string, pq *query.Query, partial map[string][]string) ([]shards.Row, []string, error) {
	nodes, err := c.lookup(ctx, pushdown(pq, shard))
	if err != nil {
		return nil, nil, err
	}
	var rows []shards.Row
	unchecked := map[string]bool{}
	for _, n := range nodes {
		doc := Document(n)
		ok, unk := Match(pq, doc)
		for _, f := range unk {
			unchecked[f] = true
		}
		if !ok {
			continue
		}
		data := doc
		if partial != nil {
			data = PartialData(doc, partial)
		}
		row, err := shards.NewRow(n.Name, data)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, row)
	}
	var fields []string
	for f := range unchecked {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return rows, fields, nil
}

// lookup serves a filter's nodes from the cache while its follower is
// healthy, and otherwise fetches them, sharing the fetch with concurrent
// queries for the same filter.
func (c *Consul) lookup(ctx context.Context, f filter) ([]Entry, error) {
	key := f.key()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("consul fallback is closed")
	}
	e := c.entries[key]
	if e == nil {
		e = &cached{key: key, filter: f, lastUse: time.Now()}
		c.entries[key] = e
		c.evict()
	}
	e.lastUse = time.Now()
	if e.watching {
		nodes := e.nodes
		c.mu.Unlock()
		return nodes, nil
	}
	l := e.loading
	if l == nil {
		l = &load{done: make(chan struct{})}
		e.loading = l
		// Detached from the caller: others wait for this fetch, and one
		// caller giving up must not fail them all.
		c.wg.Add(1)
		go c.fetchInto(e, l)
	}
	c.mu.Unlock()
	select {
	case <-l.done:
		return l.nodes, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("consul: %w", ctx.Err())
	}
}

func (c *Consul) fetchInto(e *cached, l *load) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	nodes, index, err := c.fetch(ctx, e.filter, 0, 0)
	cancel()
	c.mu.Lock()
	l.nodes, l.err = nodes, err
	e.loading = nil
	if err == nil && c.entries[e.key] == e && !c.closed {
		e.nodes, e.index = nodes, index
		e.watching = true
		wctx, wcancel := context.WithCancel(context.Background())
		e.cancel = wcancel
		c.wg.Add(1)
		go c.follow(wctx, e)
	}
	c.mu.Unlock()
	close(l.done)
}

// follow keeps e current with blocking queries until it is idle, evicted
// or Consul fails; after a failure the next query fetches anew.
func (c *Consul) follow(ctx context.Context, e *cached) {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		index, idle := e.index, time.Since(e.lastUse) > c.idle
		if idle && c.entries[e.key] == e {
			c.drop(e.key, e)
		}
		c.mu.Unlock()
		if idle || ctx.Err() != nil {
			return
		}
		began := time.Now()
		rctx, cancel := context.WithTimeout(ctx, c.wait+c.wait/16+c.timeout)
		nodes, next, err := c.fetch(rctx, e.filter, index, c.wait)
		cancel()
		c.mu.Lock()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			e.watching = false
			e.nodes = nil
		case next != index:
			// Any change counts, a smaller index too: Consul then restarted
			// or reset its state, and what it now holds is the answer.
			e.nodes, e.index = nodes, next
		}
		stop := !e.watching || ctx.Err() != nil
		c.mu.Unlock()
		if stop {
			return
		}
		if gap := c.minGap - time.Since(began); gap > 0 {
			select {
			case <-time.After(gap):
			case <-ctx.Done():
				return
			}
		}
	}
}

// fetch reads the chef-node instances matching f; with index > 0 it is a
// blocking query that returns when the answer changes or wait passes.
func (c *Consul) fetch(ctx context.Context, f filter, index uint64, wait time.Duration) ([]Entry, uint64, error) {
	opts := &consulapi.QueryOptions{AllowStale: true, NodeMeta: f.meta, WaitIndex: index, WaitTime: wait}
	svcs, meta, err := c.client.Catalog().ServiceMultipleTags(c.service, f.tags, opts.WithContext(ctx))
	if err != nil {
		return nil, 0, fmt.Errorf("consul: %v", err)
	}
	// A node registering the service twice (two IDs) is still one node.
	at := map[string]int{}
	var out []Entry
	for _, s := range svcs {
		if i, ok := at[s.Node]; ok {
			out[i].Tags = append(out[i].Tags, s.ServiceTags...)
			continue
		}
		at[s.Node] = len(out)
		out = append(out, Entry{Name: s.Node, Address: s.Address, Meta: s.NodeMeta, Tags: append([]string(nil), s.ServiceTags...)})
	}
	// Index 0 would make the next blocking query return at once, forever.
	return out, max(meta.LastIndex, 1), nil
}

// evict keeps the cache within its size, dropping the least recently used
// answers that no query is waiting for. Called with c.mu held.
func (c *Consul) evict() {
	for len(c.entries) > c.size {
		var oldest *cached
		for _, e := range c.entries {
			if e.loading == nil && (oldest == nil || e.lastUse.Before(oldest.lastUse)) {
				oldest = e
			}
		}
		if oldest == nil {
			return
		}
		c.drop(oldest.key, oldest)
	}
}

// drop forgets an answer and stops its follower. Called with c.mu held.
func (c *Consul) drop(key string, e *cached) {
	delete(c.entries, key)
	e.watching = false
	if e.cancel != nil {
		e.cancel()
	}
}
