package search

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// search.spill_max_bytes bounds one request's sorted runs; K streams
// could still write K times that. The spill budget bounds all of them
// together: every sorter of the engine (one engine a process) reserves
// each run's bytes here before keeping them, and gives them back when it
// closes.

// DefaultSpillTotalBytes is the process's spill budget when the Engine
// leaves SpillTotalBytes zero.
const DefaultSpillTotalBytes = 8 << 30

// spillRetry is the Retry-After of a request refused for want of spill
// space: another request's runs go when it ends.
const spillRetry = 10 * time.Second

type spillBudget struct {
	limit int64
	used  atomic.Int64
}

func (e *Engine) spillBudget() *spillBudget {
	e.spillOnce.Do(func() {
		e.spill = &spillBudget{limit: e.SpillTotalBytes}
		if e.spill.limit <= 0 {
			e.spill.limit = DefaultSpillTotalBytes
		}
	})
	return e.spill
}

// take reserves n bytes, or reserves nothing and says why.
func (b *spillBudget) take(n int64) error {
	if b == nil {
		return nil
	}
	if b.used.Add(n) <= b.limit {
		return nil
	}
	b.used.Add(-n)
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: spillRetry,
		Message: "the sorted runs of all requests together would pass search.spill_total_bytes (" + shards.FormatBytes(b.limit) +
			"): retry later, narrow the query, or stream it with order=none (no sort, no spill)"}
}

func (b *spillBudget) give(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// SpillInUse is how many bytes of sorted runs all requests hold now.
func (e *Engine) SpillInUse() int64 { return e.spillBudget().used.Load() }

// spillState is the Engine's share of the budget; a zero value is ready.
type spillState struct {
	spillOnce sync.Once
	spill     *spillBudget
}
