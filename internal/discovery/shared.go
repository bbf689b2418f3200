package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/shards"
)

// SharedConfig keeps the Route53 shards a replica last discovered in Consul
// KV, one key per stack under Prefix, so a replica that starts while
// Route53 cannot be reached serves what another one last saw. The cache
// file stays the fallback when Consul cannot be reached either.
type SharedConfig struct {
	// Address is the Consul agent's HTTP API, host:port.
	Address string
	// Prefix is the KV folder (default shearch/topology/): the stack's
	// name is appended.
	Prefix string
	// Timeout bounds one read or write (default 3s).
	Timeout time.Duration
	// Writer names this replica in what it writes (its advertise address).
	Writer string
}

// DefaultSharedPrefix is where the shared topology lives in Consul KV.
const DefaultSharedPrefix = "shearch/topology/"

// Cache names where a source's last-known-good came from, in /v1/shards.
const (
	CacheConsulKV = "consul_kv"
	CacheFile     = "file"
)

// sharedEntry is the value of one stack's key.
type sharedEntry struct {
	UpdatedAt time.Time      `json:"updated_at"`
	Writer    string         `json:"writer,omitempty"`
	Route53   []shards.Shard `json:"route53"`
}

type sharedStore struct {
	cfg SharedConfig
	kv  *consulapi.KV

	mu      sync.Mutex
	written map[string][]byte // stack -> shards JSON last written or read
	pending map[string][]shards.Shard
	wake    chan struct{}
}

func newSharedStore(cfg SharedConfig) (*sharedStore, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSharedPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	ac := consulapi.DefaultConfig()
	if cfg.Address != "" {
		ac.Address = cfg.Address
	}
	c, err := consulapi.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("consul %s (shared topology): %v", ac.Address, err)
	}
	return &sharedStore{cfg: cfg, kv: c.KV(), written: map[string][]byte{}, pending: map[string][]shards.Shard{},
		wake: make(chan struct{}, 1)}, nil
}

// load reads every stack's entry as one cache: the Route53 shards of all
// stacks, and the oldest update time among them.
func (s *sharedStore) load(ctx context.Context) (*cacheFile, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	pairs, _, err := s.kv.List(s.cfg.Prefix, (&consulapi.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("reading the shared topology from consul KV %s: %v", s.cfg.Prefix, err)
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	c := &cacheFile{}
	for _, p := range pairs {
		var e sharedEntry
		if err := json.Unmarshal(p.Value, &e); err != nil {
			return nil, fmt.Errorf("consul KV %s: not a shared topology: %v", p.Key, err)
		}
		stack := strings.TrimPrefix(p.Key, s.cfg.Prefix)
		for _, sh := range e.Route53 {
			if sh.Stack == stack {
				c.Route53 = append(c.Route53, sh)
			}
		}
		if c.UpdatedAt.IsZero() || e.UpdatedAt.Before(c.UpdatedAt) {
			c.UpdatedAt = e.UpdatedAt
		}
		if b, err := json.Marshal(e.Route53); err == nil {
			s.mu.Lock()
			s.written[stack] = b
			s.mu.Unlock()
		}
	}
	return c, nil
}

// offer queues the live Route53 shards for writing, per stack, when they
// differ from what the KV holds; the writer goroutine sends them.
func (s *sharedStore) offer(live []shards.Shard) {
	byStack := map[string][]shards.Shard{}
	for _, sh := range live {
		// Key paths are this machine's; a reader fills in its own defaults.
		sh.ClientName, sh.ClientKey = "", ""
		byStack[sh.Stack] = append(byStack[sh.Stack], sh)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := false
	for stack, list := range byStack {
		b, err := json.Marshal(list)
		if err != nil || bytes.Equal(b, s.written[stack]) {
			continue
		}
		s.pending[stack] = list
		queued = true
	}
	if queued {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// writeLoop sends what offer queued until ctx ends. A failed write is
// tried again at the next change or after a pause.
func (s *sharedStore) writeLoop(ctx context.Context, log func(msg string, args ...any)) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-retry.C:
		}
		s.mu.Lock()
		pending := s.pending
		s.pending = map[string][]shards.Shard{}
		s.mu.Unlock()
		for _, stack := range slices.Sorted(maps.Keys(pending)) {
			list := pending[stack]
			err := s.put(ctx, stack, list)
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			if err != nil {
				if _, newer := s.pending[stack]; !newer {
					s.pending[stack] = list
				}
			} else if b, jerr := json.Marshal(list); jerr == nil {
				s.written[stack] = b
			}
			s.mu.Unlock()
			switch {
			case err != nil && !failing:
				failing = true
				log("cannot write the shared topology to consul KV; will retry", "key", s.cfg.Prefix+stack, "error", err)
			case err == nil && failing:
				failing = false
				log("shared topology written to consul KV again", "key", s.cfg.Prefix+stack)
			}
			if err != nil {
				retry.Reset(5 * time.Second)
			}
		}
	}
}

func (s *sharedStore) put(ctx context.Context, stack string, list []shards.Shard) error {
	b, err := json.Marshal(sharedEntry{UpdatedAt: time.Now().UTC(), Writer: s.cfg.Writer, Route53: list})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	_, err = s.kv.Put(&consulapi.KVPair{Key: s.cfg.Prefix + stack, Value: b}, (&consulapi.WriteOptions{}).WithContext(ctx))
	return err
}

// loadShared reads the shared topology once, before the first discovery,
// so a Route53 outage at start falls back to it.
func (t *Topology) loadShared(ctx context.Context) {
	if t.shared == nil {
		return
	}
	c, err := t.shared.load(ctx)
	if err != nil {
		t.log.Warn("shared topology unavailable; the cache file is the fallback if Route53 is down", "error", err)
		return
	}
	t.mu.Lock()
	t.sharedCache = c
	t.mu.Unlock()
}

// useSharedLocked serves Route53's shards from the shared topology when
// Route53 has not answered since start.
func (t *Topology) useSharedLocked(d *sourceData, name string, err error) bool {
	if d.have || d.source != shards.SourceRoute53 || t.sharedCache == nil || t.sharedCache.Route53 == nil {
		return false
	}
	d.have, d.fromCache, d.cacheFrom, d.shards = true, true, CacheConsulKV, t.sharedCache.Route53
	t.log.Warn("discovery source unreachable; using the shared shards from consul KV", "source", name,
		"prefix", t.shared.cfg.Prefix, "updated_at", t.sharedCache.UpdatedAt, "shards", len(d.shards), "error", err)
	return true
}

// offerSharedLocked hands live Route53 shards to the KV writer.
func (t *Topology) offerSharedLocked() {
	if t.shared != nil && t.r53State.have && !t.r53State.fromCache {
		t.shared.offer(t.r53State.shards)
	}
}
