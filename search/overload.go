package search

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// Collectors are the engine's metrics and its shards', for a registry
// (New registers them on Deps.Registerer).
func (e *Engine) Collectors() []prometheus.Collector {
	return append(e.Guards.Metrics.Collectors(), e.metrics.collectors()...)
}

// checkIndex decides before fan-out whether index exists, so a shard
// that is down, or one that lacks a data bag the others hold, can never
// turn a search into a false 404. It returns the answers of the shards
// that failed the check, to be reported rather than asked again.
func (e *Engine) checkIndex(ctx context.Context, targets []shards.Shard, index string, opts fanout.Options) ([]fanout.Answer[int], error) {
	switch index {
	case "node", "role", "client", "environment":
		return nil, nil
	}
	if err := shards.CheckIndex(index); err != nil {
		return nil, fault.Errorf(fault.BadRequest, "%v", err)
	}
	answers := fanout.Do(ctx, targets, func(ctx context.Context, c *shards.Client) (bool, error) {
		var bags map[string]any
		if err := c.GetJSON(ctx, shards.CollectionPath(shards.DataBags), &bags); err != nil {
			return false, err
		}
		_, ok := bags[index]
		return ok, nil
	}, opts)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := fanout.Shed(answers); err != nil {
		return nil, err
	}
	var failed []fanout.Answer[int]
	var failedStatus []ShardStatus
	found := false
	for _, a := range answers {
		found = found || a.Value
		if a.Err != nil {
			failed = append(failed, fanout.Answer[int]{Shard: a.Shard, Err: a.Err, Status: a.Status})
			failedStatus = append(failedStatus, a.Status)
		}
	}
	switch {
	case found:
		return failed, nil
	case len(failed) > 0:
		s := fanout.Summarize(answers)
		err := fault.Errorf(fault.ShardsFailed, "no shard that answered holds data bag %s, and shard(s) failed: %s", index, fanout.FailedMessage(failedStatus))
		err.Shards = &s
		return nil, err
	}
	return nil, fault.Errorf(fault.NotFound, "I don't know how to search for %s data objects.", index)
}

// engineMetrics are the engine's own series.
type engineMetrics struct {
	fallbackRows prometheus.Counter
	cacheHits    prometheus.Counter
	cacheLookups prometheus.Counter
	hitRatio     prometheus.GaugeFunc
	spilledBytes prometheus.Counter
	// hits and lookups feed the ratio without reading counters back.
	hits, lookups atomic.Uint64
	spilledTotal  atomic.Int64
}

func (m *engineMetrics) init(e *Engine) {
	m.fallbackRows = prometheus.NewCounter(prometheus.CounterOpts{Name: "shearch_fallback_rows_total",
		Help: "Rows answered from the Consul fallback for failed shards."})
	m.cacheHits = prometheus.NewCounter(prometheus.CounterOpts{Name: "shearch_cache_hits_total",
		Help: "Searches answered from the merged-answer cache."})
	m.cacheLookups = prometheus.NewCounter(prometheus.CounterOpts{Name: "shearch_cache_lookups_total",
		Help: "Searches that looked in the merged-answer cache (cache enabled)."})
	m.spilledBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "shearch_sort_spilled_bytes_total",
		Help: "Bytes of sorted runs written to search.spill_dir by streams in name order past search.sort_memory_bytes."})
	m.hitRatio = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shearch_cache_hit_ratio",
		Help: "Cache hits over lookups since start (0 before any lookup)."}, func() float64 {
		l := m.lookups.Load()
		if l == 0 {
			return 0
		}
		return float64(m.hits.Load()) / float64(l)
	})
}

func (m *engineMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.fallbackRows, m.cacheHits, m.cacheLookups, m.hitRatio, m.spilledBytes}
}

func (m *engineMetrics) cacheLookup(c *Cache, hit bool) {
	if c == nil || c.TTL <= 0 || m.cacheLookups == nil {
		return
	}
	m.lookups.Add(1)
	m.cacheLookups.Inc()
	if hit {
		m.hits.Add(1)
		m.cacheHits.Inc()
	}
}

func (m *engineMetrics) addSpilled(n int64) {
	m.spilledTotal.Add(n)
	if m.spilledBytes != nil {
		m.spilledBytes.Add(float64(n))
	}
}

func (m *engineMetrics) addFallbackRows(n int) {
	if m.fallbackRows != nil {
		m.fallbackRows.Add(float64(n))
	}
}

// SpilledBytes is how many bytes streams have written to sorted runs
// since start.
func (e *Engine) SpilledBytes() int64 { return e.metrics.spilledTotal.Load() }

// Reachable says whether any shard of stack (the default one for "") is
// worth sending a request to: not critical in Consul, its breaker not
// open, and its last request answered. A shard not yet asked counts as
// reachable.
func (e *Engine) Reachable(stack string) bool {
	for _, s := range e.Topology.Shards(e.Stack(stack)) {
		if s.Health != shards.HealthCritical && e.Guards.For(s.Name).Reachable() {
			return true
		}
	}
	return false
}
