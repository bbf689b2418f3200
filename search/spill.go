package search

import "github.com/shearch/shearch/internal/extsort"

// Answers in name order go through internal/extsort; this is the
// engine's side of it: the bounds from the Engine's fields, the metric,
// and the one spill budget all of the engine's sorts share (one engine a
// process).

// DefaultSpillTotalBytes is the process's spill budget when the Engine
// leaves SpillTotalBytes zero.
const DefaultSpillTotalBytes = extsort.DefaultTotalBytes

func (e *Engine) newSorter() *extsort.Sorter {
	return extsort.New(extsort.Config{MemBytes: e.SortBytes, MaxBytes: e.SpillBytes, Dir: e.SpillDir,
		Budget: e.spill, Spilled: e.metrics.addSpilled})
}

// SpillInUse is how many bytes of sorted runs all requests hold now.
func (e *Engine) SpillInUse() int64 { return e.spill.InUse() }
