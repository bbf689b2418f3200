package extsort

import (
	"sync/atomic"
	"time"

	"github.com/shearch/shearch/internal/bytesize"
	"github.com/shearch/shearch/internal/fault"
)

// search.spill_max_bytes bounds one sort's runs; K sorts could still
// write K times that. A Budget bounds all of them together: every sorter
// given it (one Budget a process) reserves each run's bytes before it
// writes them, and gives them back when it closes.

// DefaultTotalBytes is a Budget's limit when NewBudget is given none.
const DefaultTotalBytes = 8 << 30

// budgetRetry is the Retry-After of a sort refused for want of budget:
// another request's runs go when it ends.
const budgetRetry = 10 * time.Second

// Budget is the spill space all sorts of a process share. A nil Budget
// bounds nothing.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget is a budget of limit bytes (DefaultTotalBytes when limit is
// not positive).
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = DefaultTotalBytes
	}
	return &Budget{limit: limit}
}

// InUse is how many bytes of runs the sorts hold now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// take reserves n bytes, or reserves nothing and says why.
func (b *Budget) take(n int64) error {
	if b == nil {
		return nil
	}
	if b.used.Add(n) <= b.limit {
		return nil
	}
	b.used.Add(-n)
	return &fault.Error{Kind: fault.Unavailable, RetryAfter: budgetRetry,
		Message: "the sorted runs of all requests together would pass search.spill_total_bytes (" + bytesize.Format(b.limit) +
			"): retry later, narrow the query, or stream it with order=none (no sort, no spill)"}
}

func (b *Budget) give(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}
