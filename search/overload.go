package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

func (e *Engine) guards() *shards.Guards {
	e.guardsOnce.Do(func() {
		if e.Guards == nil {
			log := e.Log
			if log == nil {
				log = slog.Default()
			}
			e.Guards = shards.NewGuards(shards.DefaultGuardConfig, log)
		}
		e.metrics.init(e)
	})
	return e.Guards
}

// Collectors are the engine's metrics and its shards', for a registry.
func (e *Engine) Collectors() []prometheus.Collector {
	g := e.guards()
	return append(g.Metrics.Collectors(), e.metrics.collectors()...)
}

// callShard bounds one shard's whole answer (every page of it) by the
// per-shard timeout, so a hanging shard costs that timeout once. The
// shard's time runs only while one of its requests holds a slot: time in
// Shearch's own queue is bounded by search.max_wait, and running out of
// it sheds the whole request, never this shard's part alone.
func (e *Engine) callShard(ctx context.Context, s shards.Shard, c *shards.Client, call func(context.Context, *shards.Client) ([]shards.Row, error)) ([]shards.Row, error) {
	t := s.Timeout
	if t <= 0 {
		t = e.shardTimeout()
	}
	return call(shards.WithShardTimeout(ctx, t), c)
}

func (e *Engine) shardTimeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 10 * time.Second
}

// shed turns a shard request refused for overload into the whole
// request's answer: 429 (503 when the shard fails) with Retry-After. A
// partial answer would look like a result to scripts that retry nothing.
func shed(answers []shardAnswer) error {
	for _, a := range answers {
		if err := overloadError(a.err); err != nil {
			return err
		}
	}
	return nil
}

func overloadError(err error) *fault.Error {
	var oe *shards.OverloadedError
	if !errors.As(err, &oe) {
		return nil
	}
	kind := fault.Overloaded
	if oe.ShardFailing() {
		kind = fault.Unavailable
	}
	return &fault.Error{Kind: kind, RetryAfter: oe.RetryAfter,
		Message: fmt.Sprintf("Shearch is shedding load: shard %s is overloaded (%s); retry after %s", oe.Shard, oe.Reason, oe.RetryAfter)}
}

// requestFailure is the error that ends a whole request rather than one
// shard's part: the caller left, or a shard shed the request.
func requestFailure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if oe := overloadError(err); oe != nil {
		return oe
	}
	return nil
}

// shardBlameless is an outcome that says nothing of the shard's health:
// the caller left, Shearch shed the request before sending it, or
// Shearch's own work on the shard's rows failed (the sorter's bounds).
// The engine's fault.Error is never a shard's failure: what a shard does
// wrong reaches the fan-out as a shards error.
func shardBlameless(err error) bool {
	var oe *shards.OverloadedError
	var fe *fault.Error
	return errors.Is(err, context.Canceled) || errors.As(err, &oe) || errors.As(err, &fe)
}

func answeredShards(answers []shardAnswer) []shards.Shard {
	var out []shards.Shard
	for _, a := range answers {
		if a.err == nil {
			out = append(out, a.shard)
		}
	}
	return out
}

func failedAnswers(answers []shardAnswer) string {
	var parts []string
	for _, a := range answers {
		var se *shards.StatusError
		if a.err != nil && !errors.As(a.err, &se) {
			parts = append(parts, fmt.Sprintf("%s (%s)", a.shard.Name, shardDetail(a.err, a.shard.Name)))
		}
	}
	return strings.Join(parts, ", ")
}

// checkIndex decides before fan-out whether index exists, so a shard
// that is down, or one that lacks a data bag the others hold, can never
// turn a search into a false 404. It returns the answers of the shards
// that failed the check, to be reported rather than asked again.
func (e *Engine) checkIndex(ctx context.Context, targets []shards.Shard, index string) ([]shardAnswer, error) {
	switch index {
	case "node", "role", "client", "environment":
		return nil, nil
	}
	if err := shards.CheckIndex(index); err != nil {
		return nil, fault.Errorf(fault.BadRequest, "%v", err)
	}
	answers := e.fanOut(ctx, targets, func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
		var bags map[string]any
		if err := c.GetJSON(ctx, shards.CollectionPath(shards.DataBags), &bags); err != nil {
			return nil, err
		}
		if _, ok := bags[index]; ok {
			return []shards.Row{{Name: index}}, nil
		}
		return nil, nil
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := shed(answers); err != nil {
		return nil, err
	}
	var failed []shardAnswer
	var failedStatus []ShardStatus
	found := false
	for _, a := range answers {
		found = found || len(a.rows) > 0
		if a.err != nil {
			a.rows = nil
			failed = append(failed, a)
			failedStatus = append(failedStatus, a.status)
		}
	}
	switch {
	case found:
		return failed, nil
	case len(failed) > 0:
		s := summarize(answers)
		err := fault.Errorf(fault.ShardsFailed, "no shard that answered holds data bag %s, and shard(s) failed: %s", index, failedShardsMessage(failedStatus))
		err.Shards = &s
		return nil, err
	}
	return nil, fault.Errorf(fault.NotFound, "I don't know how to search for %s data objects.", index)
}

func without(targets []shards.Shard, skip []shardAnswer) []shards.Shard {
	if len(skip) == 0 {
		return targets
	}
	out := make([]shards.Shard, 0, len(targets))
	for _, t := range targets {
		skipped := false
		for _, a := range skip {
			skipped = skipped || a.shard.Name == t.Name
		}
		if !skipped {
			out = append(out, t)
		}
	}
	return out
}

// inShardOrder puts answers back in the targets' order, the order the
// shard details are reported in.
func inShardOrder(targets []shards.Shard, answers []shardAnswer) []shardAnswer {
	if len(answers) != len(targets) {
		return answers
	}
	pos := make(map[string]int, len(targets))
	for i, t := range targets {
		pos[t.Name] = i
	}
	if len(pos) != len(targets) {
		return answers
	}
	out := make([]shardAnswer, len(answers))
	for _, a := range answers {
		out[pos[a.shard.Name]] = a
	}
	return out
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
		if s.Health != shards.HealthCritical && e.guards().For(s.Name).Reachable() {
			return true
		}
	}
	return false
}
