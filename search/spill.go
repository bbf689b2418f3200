package search

import (
	"sync"

	"github.com/shearch/shearch/internal/extsort"
)

// Answers in name order go through internal/extsort; this is the
// engine's side of it: the bounds from the Engine's fields, the metric,
// and the one spill budget all of the engine's sorts share (one engine a
// process).

// DefaultSpillTotalBytes is the process's spill budget when the Engine
// leaves SpillTotalBytes zero.
const DefaultSpillTotalBytes = extsort.DefaultTotalBytes

func (e *Engine) newSorter() *extsort.Sorter {
	return extsort.New(extsort.Config{MemBytes: e.SortBytes, MaxBytes: e.SpillBytes, Dir: e.SpillDir,
		Budget: e.spillBudget(), Spilled: e.metrics.addSpilled})
}

// spillState is the Engine's share of the budget; a zero value is ready.
type spillState struct {
	spillOnce sync.Once
	spill     *extsort.Budget
}

func (e *Engine) spillBudget() *extsort.Budget {
	e.spillOnce.Do(func() { e.spill = extsort.NewBudget(e.SpillTotalBytes) })
	return e.spill
}

// SpillInUse is how many bytes of sorted runs all requests hold now.
func (e *Engine) SpillInUse() int64 { return e.spillBudget().InUse() }
