package writes

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// Config bounds what the write path keeps between requests.
type Config struct {
	// OwnerTTL is how long the shard found holding a node is trusted
	// before asking the shards again (default 30s). A move is rare, and a
	// 404 from the remembered shard forgets it at once.
	OwnerTTL time.Duration
	// OwnerCacheSize bounds the nodes remembered (default 10,000).
	OwnerCacheSize int
}

// Its defaults, set by withDefaults.
const (
	defaultOwnerTTL       = 30 * time.Second
	defaultOwnerCacheSize = 10000
)

func (c Config) withDefaults() Config {
	if c.OwnerTTL <= 0 {
		c.OwnerTTL = defaultOwnerTTL
	}
	if c.OwnerCacheSize <= 0 {
		c.OwnerCacheSize = defaultOwnerCacheSize
	}
	return c
}

type ownerEntry struct {
	shard string
	at    time.Time
}

// nodeOwners remembers which shard holds a node. A plain LRU with the
// age checked on read: golang-lru's expirable cache runs a janitor
// goroutine per cache that nothing can stop.
type nodeOwners struct {
	cfg *Config // the writer's: its TTL is read on each look-up
	lru *lru.Cache[string, ownerEntry]
}

func newNodeOwners(c *Config) *nodeOwners {
	l, _ := lru.New[string, ownerEntry](c.OwnerCacheSize) // size > 0: New fills it (withDefaults)
	return &nodeOwners{cfg: c, lru: l}
}

func ownerKey(stack, name string) string { return stack + "\x00" + name }

func (w *nodeOwners) remembered(stack, name string) (string, bool) {
	e, ok := w.lru.Get(ownerKey(stack, name))
	if !ok || time.Since(e.at) > w.cfg.OwnerTTL {
		return "", false
	}
	return e.shard, true
}

func (w *nodeOwners) remember(stack, name, shard string) {
	w.lru.Add(ownerKey(stack, name), ownerEntry{shard: shard, at: time.Now()})
}

func (w *nodeOwners) forget(stack, name string) { w.lru.Remove(ownerKey(stack, name)) }

// nodeHolders asks every target for the node. A GET per shard rather than
// a search: a search index lags behind writes (Chef Server's Solr commits
// every few seconds), and a node created a moment ago must be found, or a
// second create would put it on two shards.
func (wr *Writer) nodeHolders(ctx context.Context, targets []shards.Shard, name string) (holders []shards.Shard, failed []api.ShardStatus) {
	p, err := ObjectRef{Kind: KindNode, Name: name}.objectPath(methodGet)
	if err != nil {
		for _, t := range targets {
			failed = append(failed, api.ShardStatus{Name: t.Name, Stack: t.Stack, Status: api.StatusFailed, Error: err.Error()})
		}
		return nil, failed
	}
	answers := fanout.Do(ctx, targets, func(ctx context.Context, c *shards.Client) (struct{}, error) {
		_, err := c.Do(ctx, methodGet, p, nil)
		return struct{}{}, err
	}, wr.shards.FanOptions())
	for _, a := range answers {
		switch {
		case a.Err == nil:
			holders = append(holders, a.Shard)
		case fanout.IsNotFound(a.Err):
		default:
			failed = append(failed, a.Status)
		}
	}
	return holders, failed
}

// locateNode is nodeHolders through the owner cache: a node remembered on
// a shard still in the stack is not looked up again.
func (wr *Writer) locateNode(ctx context.Context, stack string, targets []shards.Shard, name string, cached bool) (holders []shards.Shard, failed []api.ShardStatus, fromCache bool) {
	if cached {
		if sh, ok := wr.owned.remembered(stack, name); ok {
			for _, t := range targets {
				if t.Name == sh {
					return []shards.Shard{t}, nil, true
				}
			}
		}
	}
	holders, failed = wr.nodeHolders(ctx, targets, name)
	if len(holders) == 1 {
		wr.owned.remember(stack, name, holders[0].Name)
	} else {
		wr.owned.forget(stack, name)
	}
	return holders, failed, false
}
