package drift

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/shearch/shearch/api"
)

// The drift scan reads every role, environment, data bag item and
// cookbook list of every shard of a stack. Any reader could start one on
// every call, unshared and uncached, and so push other callers into
// 429s. Concurrent scans of one stack are now one scan; a report is
// served again for ReportTTL; and a caller who starts a new scan
// passes its admission first (the API counts it against the caller's
// budget). Repairs never use any of this: they read afresh.

// scanCache keeps the last report of each stack.
type scanCache struct {
	mu      sync.Mutex
	reports map[string]cachedScan
	// gen moves at each clear: a scan that began before a write keeps
	// its report to itself.
	gen uint64
}

type cachedScan struct {
	rep *api.Consistency
	at  time.Time
}

func (c *scanCache) get(stack string, ttl time.Duration) *api.Consistency {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.reports[stack]
	if !ok || time.Since(s.at) >= ttl {
		return nil
	}
	return s.rep
}

func (c *scanCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *scanCache) put(stack string, rep *api.Consistency, at time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.reports == nil {
		c.reports = map[string]cachedScan{}
	}
	c.reports[stack] = cachedScan{rep, at}
}

// clear forgets every report: a write to every shard of a stack (a role,
// a repair) must not leave a report from before it to be served again.
func (c *scanCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reports = nil
	c.gen++
}

// api.Consistency compares roles, environments, data bag items and cookbook
// versions across the shards of a stack: the check that catches an upload
// that reached some shards and not others. A failed shard is reported and
// left out of the comparison (its objects are not "missing"). Concurrent
// calls for one stack share one scan, and a report younger than
// ReportTTL is served again.
func (c *Checker) Consistency(ctx context.Context, stack string) (*api.Consistency, error) {
	return c.ConsistencyFor(ctx, stack, nil)
}

// ConsistencyFor is api.Consistency for a caller whose new scans are
// metered: admit, when not nil, is called only when neither a recent
// report nor a scan under way can answer, and its error is the answer.
// The report returned may be shared: do not change it.
func (c *Checker) ConsistencyFor(ctx context.Context, stack string, admit func() error) (*api.Consistency, error) {
	// A stack that cannot be scanned is refused before it costs anything.
	if _, err := c.shards.Targets(stack, nil); err != nil {
		return nil, err
	}
	stack = c.shards.Stack(stack)
	if c.ReportTTL > 0 {
		if rep := c.scans.get(stack, c.ReportTTL); rep != nil {
			return rep, nil
		}
	}
	// A scan begun before the last write is not joined.
	gen := c.scans.generation()
	key := "consistency\x00" + stack + "\x00" + strconv.FormatUint(gen, 10)
	if admit != nil && !c.shared.Running(key) {
		if err := admit(); err != nil {
			return nil, err
		}
	}
	v, err, _ := c.shared.Do(ctx, key, c.shards.RequestTimeout(), func(ctx context.Context) (any, error) {
		began := time.Now()
		rep, err := c.scanConsistency(ctx, stack)
		if err == nil && c.ReportTTL > 0 {
			c.scans.put(stack, rep, began, gen)
		}
		return rep, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*api.Consistency), nil
}
