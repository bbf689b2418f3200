package search

import (
	"context"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// ownersTTL bounds how stale the map of nodes held by several shards may
// be. Duplicates come from moves and re-bootstraps, which are rare; one
// names fan-out per stack this often is cheap next to the queries.
const ownersTTL = 30 * time.Second

// nodeCopy is one shard's copy of a node that several shards hold.
type nodeCopy struct {
	shard string
	ohai  *big.Float
}

// seenCopy is the first copy of a name met while looking for duplicates:
// the map of every node name is transient, so it holds strings only.
type seenCopy struct {
	shard, ohai string
}

type ownersEntry struct {
	at     time.Time
	copies map[string][]nodeCopy // only names held by 2+ shards
}

type ownersCache struct {
	mu sync.Mutex
	m  map[string]*ownersEntry // key: the shard names
}

// duplicatedNodes returns, for the nodes held by more than one of the
// targets, every copy with its ohai_time. A query can match a stale copy
// only (its old IP, say) while the newest copy on another shard does not
// match: that hit must not be returned as the node. A shard that fails
// here is left out, but the map is then not kept: a half-built map would
// let stale copies through for ownersTTL. Shearch's own limits shedding
// a part (or the caller leaving) is the error: the answer would not be
// the one the query gives alone.
func (e *Engine) duplicatedNodes(ctx context.Context, targets []shards.Shard) (map[string][]nodeCopy, error) {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	sort.Strings(names)
	// JSON, not a join: a shard name (from Consul, say) may hold a comma.
	kb, _ := json.Marshal(names)
	key := string(kb)
	e.owners.mu.Lock()
	if ent, ok := e.owners.m[key]; ok && time.Since(ent.at) < ownersTTL {
		e.owners.mu.Unlock()
		return ent.copies, nil
	}
	e.owners.mu.Unlock()
	// Shared among concurrent callers, and stopped only when the last of
	// them leaves (singleflight would fail them all with the first's
	// cancellation).
	v, err, _ := e.shared.Do(ctx, "owners\x00"+key, e.RequestTimeout(), func(ctx context.Context) (any, error) {
		ctx = shards.WithShardTimeout(ctx, e.Timeout)
		var mu sync.Mutex
		first := map[string]seenCopy{}
		copies := map[string][]nodeCopy{}
		answers := fanout.Do(ctx, targets, func(ctx context.Context, c *shards.Client) (struct{}, error) {
			return struct{}{}, c.SearchEach(ctx, "node", "*:*", map[string][]string{}, func(r shards.Row) error {
				mu.Lock()
				defer mu.Unlock()
				f, ok := first[r.Name]
				if !ok {
					first[r.Name] = seenCopy{shard: c.Shard.Name, ohai: r.Ohai}
					return nil
				}
				if copies[r.Name] == nil {
					copies[r.Name] = []nodeCopy{{shard: f.shard, ohai: parseOhai(f.ohai)}}
				}
				copies[r.Name] = append(copies[r.Name], nodeCopy{shard: c.Shard.Name, ohai: parseOhai(r.Ohai)})
				return nil
			})
		}, e.FanOptions())
		if err := fanout.Shed(answers); err != nil {
			return nil, err
		}
		for _, cs := range copies {
			sort.Slice(cs, func(i, j int) bool { return cs[i].shard < cs[j].shard })
		}
		whole := ctx.Err() == nil
		for _, a := range answers {
			whole = whole && a.Err == nil
		}
		if whole {
			e.owners.mu.Lock()
			if e.owners.m == nil {
				e.owners.m = map[string]*ownersEntry{}
			}
			e.owners.m[key] = &ownersEntry{at: time.Now(), copies: copies}
			e.owners.mu.Unlock()
		}
		return copies, nil
	})
	if err != nil {
		if ferr := fanout.RequestFailure(ctx, err); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	return v.(map[string][]nodeCopy), nil
}

// dropStale removes hits that are a stale copy of a node whose newest
// copy lives on another shard, and reports them as duplicates. The map
// may be up to ownersTTL old, so a hit is dropped only once the newer
// copy is read back from its shard.
func (e *Engine) dropStale(ctx context.Context, targets []shards.Shard, rows []Row, dups []Duplicate, copies map[string][]nodeCopy) ([]Row, []Duplicate, error) {
	if len(copies) == 0 {
		return rows, dups, nil
	}
	reported := map[string]bool{}
	for _, d := range dups {
		reported[d.Name] = true
	}
	out := rows[:0:0]
	for _, r := range rows {
		cs, ok := copies[r.Name]
		if !ok || r.Source != SourceChef {
			out = append(out, r)
			continue
		}
		newest := cs[0]
		for _, c := range cs[1:] {
			if c.ohai.Cmp(newest.ohai) > 0 {
				newest = c
			}
		}
		if newest.shard == r.Shard || newest.ohai.Cmp(ohaiTime(r)) <= 0 {
			out = append(out, r)
			continue
		}
		newer, err := e.newerOn(ctx, targets, newest.shard, r)
		if err != nil {
			return nil, nil, err
		}
		if !newer {
			out = append(out, r)
			continue
		}
		if !reported[r.Name] {
			d := Duplicate{Name: strings.Clone(r.Name), Kept: newest.shard, Differs: true}
			for _, c := range cs {
				if c.shard != newest.shard {
					d.Stale = append(d.Stale, c.shard)
				}
			}
			sort.Strings(d.Stale)
			dups = append(dups, d)
			reported[r.Name] = true
		}
	}
	return out, dups, nil
}

// newerOn confirms that shard still holds a newer copy of r's node. A
// shard that fails keeps the hit; Shearch shedding the read (or the
// caller leaving) is the request's error, since keeping the hit could
// return a stale copy the query alone would not.
func (e *Engine) newerOn(ctx context.Context, targets []shards.Shard, shard string, r Row) (bool, error) {
	for _, t := range targets {
		if t.Name != shard {
			continue
		}
		c, err := e.Client(t)
		if err != nil {
			return false, nil
		}
		p, err := shards.ObjectPath(shards.Nodes, r.Name)
		if err != nil {
			return false, nil
		}
		raw, err := c.Do(ctx, methodGet, p, nil)
		if err != nil {
			return false, fanout.RequestFailure(ctx, err)
		}
		return parseOhai(shards.ObjectRow(raw).Ohai).Cmp(ohaiTime(r)) > 0, nil
	}
	return false, nil
}
