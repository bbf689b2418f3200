package search

import (
	"container/heap"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/shearch/shearch/internal/extsort"
)

// Most answers in name order fit the sorter's memory bound (a 20-row
// partial page over 8 shards holds 4,000 rows, under 1 MiB), and then
// the sorter's work is copying: every row into its batches, the whole
// answer sorted as one, a heap merge. A fan-out's rows are held per
// shard instead, each shard's part sorted by its own goroutine as soon
// as its reads end (while slower shards still answer), and the parts are
// merged. The rows held count against SortBytes as the sorter counts
// them (a part adds its count every countEvery rows); once they pass
// it, the parts held go to disk as sorted runs and every row from then
// on to the sorter, which spills: memory holds what it held before, and
// the answer is the same either way (TestHeldMergeMatchesSorter).

// held is a fan-out's rows on their way to the merge: in memory, a
// sorted part per shard, or, past the bound, in the sorter.
type held struct {
	limit     int64
	newSorter func() *extsort.Sorter
	// bytes counts the rows held in memory, extsort.RowBytes each.
	bytes atomic.Int64
	// n counts the rows added and kept their names' and data's bytes,
	// for the order's size hints.
	n    atomic.Int64
	kept atomic.Int64
	// room counts the pooled slices' room the parts started in.
	room atomic.Int64
	// over is set with srt: every row goes to the sorter from then on.
	over atomic.Bool
	// uncounted is set once rows went to the sorter without a part
	// (searchLocally): kept no longer bounds their bytes.
	uncounted bool

	mu    sync.Mutex
	parts []sortedPart
	srt   *extsort.Sorter
}

// sortedPart is one part's rows and their order: ord lists the rows'
// indices in (name, shard) order, nil when the rows came in order (a
// shard that answers by name). The rows are never moved: a Row is 104
// bytes with five pointers, and each move while the GC marks goes
// through write barriers.
type sortedPart struct {
	rows []Row
	ord  []int32
}

func (e *Engine) newHeld() *held {
	limit := int64(e.SortBytes)
	if limit <= 0 {
		limit = extsort.DefaultMemBytes
	}
	return &held{limit: limit, newSorter: e.newSorter}
}

// count is how many rows were added, keptBytes the bytes of their names
// and data: at least what the merged order keeps of them.
func (h *held) count() int { return int(h.n.Load()) }

func (h *held) keptBytes() int64 {
	if h.uncounted {
		return 0
	}
	return h.kept.Load()
}

// err is the sorter's own failure, if it failed.
func (h *held) err() error {
	if !h.over.Load() {
		return nil
	}
	return h.srt.Err()
}

// sorter sends every row held, and every row added from now on, to the
// sorter; once.
func (h *held) sorter() (*extsort.Sorter, error) {
	h.mu.Lock()
	if h.srt != nil {
		h.mu.Unlock()
		return h.srt, nil
	}
	h.srt = h.newSorter()
	h.over.Store(true)
	parts := h.parts
	h.parts = nil
	h.mu.Unlock()
	// The parts are sorted already: each is written as a run of its
	// own, so memory never holds them and the sorter's copy at once.
	var err error
	for _, p := range parts {
		if err == nil {
			err = h.srt.AddRun(len(p.rows), p.row)
		}
		putRows(p.rows)
	}
	return h.srt, err
}

// sorted returns an iterator over every row held but those skip skips,
// in (name, shard) order. A row is valid until the next call but one: a
// merge of held parts gives the rows themselves, the sorter's go
// through two slots (which is why rows are skipped here: a skipped row
// must not take a slot).
func (h *held) sorted(skip func(*Row) bool) (func() (*Row, bool, error), error) {
	if !h.over.Load() {
		m := newMerged(h.parts)
		return func() (*Row, bool, error) {
			for {
				r, ok := m.next()
				if !ok || !skip(r) {
					return r, ok, nil
				}
			}
		}, nil
	}
	next, err := h.srt.Sorted()
	if err != nil {
		return nil, err
	}
	var slots [2]Row
	i := 0
	return func() (*Row, bool, error) {
		for {
			r, ok, err := next()
			if err != nil || !ok {
				return nil, false, err
			}
			// The slot of the row given two calls ago: a skipped row
			// read into it leaves the row given last alone (and r
			// stays on the stack).
			j := i ^ 1
			slots[j] = r
			if skip(&slots[j]) {
				continue
			}
			i = j
			return &slots[i], true, nil
		}
	}, nil
}

// reset lets every row held go, for a fan-out that starts afresh.
func (h *held) reset() {
	h.close()
	*h = held{limit: h.limit, newSorter: h.newSorter, uncounted: true}
}

// close lets the sorter and the rows go.
func (h *held) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.parts {
		putRows(p.rows)
	}
	h.parts = nil
	if h.srt != nil {
		h.srt.Close()
	}
}

// part is one goroutine's rows: a shard's answer, or the fallback's.
// It starts in a pooled slice while the answer's pooled room stays
// within the memory bound (a fan-out over many shards would otherwise
// hold up to pooledPartRows rows of room a shard, uncounted), and in a
// batch's room after that. A slice then grows only as rows are added and
// counted, so memory stays within about twice the bound.
func (h *held) part() *part {
	rows := getRows()
	if h.room.Add(int64(cap(rows))*rowSize) > h.limit {
		h.room.Add(-int64(cap(rows)) * rowSize)
		putRows(rows)
		rows = make([]Row, 0, addBatch)
	}
	return &part{h: h, rows: rows}
}

// rowSize is what one slot of a row slice takes, filled or not.
const rowSize = int64(unsafe.Sizeof(Row{}))

// part collects rows from one goroutine, without locks.
type part struct {
	h    *held
	rows []Row
	// bytes counts the rows held in memory, unsent the part of it not
	// yet added to h.bytes.
	bytes, unsent int64
	kept          int64
	n             int
}

// countEvery is how many rows a part counts before it adds their bytes
// to the shared count: the bound is passed by at most that many rows a
// shard, where a row at a time made the shared count's cache line a
// tenth of a page's merge. The sorter's batches held 256.
const countEvery = 32

// add keeps r; once the rows held pass the bound, every row held goes
// to the sorter, and then rows go to it a batch at a time.
func (p *part) add(r Row) error {
	p.rows = append(p.rows, r)
	p.n++
	p.kept += int64(len(r.Name) + len(r.Data))
	h := p.h
	if !h.over.Load() {
		b := int64(extsort.RowBytes(r))
		p.bytes += b
		p.unsent += b
		if p.n%countEvery != 0 || !p.count() {
			return nil
		}
		if _, err := h.sorter(); err != nil {
			return err
		}
	} else if len(p.rows) < addBatch {
		return nil
	}
	return p.flush()
}

// count adds the part's bytes to the shared count, and says whether the
// rows held passed the bound.
func (p *part) count() bool {
	n := p.unsent
	p.unsent = 0
	return p.h.bytes.Add(n) > p.h.limit
}

// flush hands the part's rows to the sorter. The rows it held in memory
// may have grown its slice past a batch: that goes, so a stream past the
// bound holds a batch a shard, as it did with the sorter alone.
func (p *part) flush() error {
	err := p.h.srt.Add(p.rows...)
	if cap(p.rows) > 2*addBatch {
		putRows(p.rows)
		p.rows = make([]Row, 0, addBatch)
	} else {
		clear(p.rows)
		p.rows = p.rows[:0]
	}
	return err
}

// done ends the part: sorted and kept while the rows fit, or handed to
// the sorter.
func (p *part) done() error {
	h := p.h
	h.n.Add(int64(p.n))
	h.kept.Add(p.kept)
	if len(p.rows) == 0 {
		// Nothing to merge: the slice's room goes back now, not when the
		// answer closes.
		putRows(p.rows)
		p.rows = nil
		return nil
	}
	if !h.over.Load() && p.count() {
		if _, err := h.sorter(); err != nil {
			putRows(p.rows)
			p.rows = nil
			return err
		}
	}
	if !h.over.Load() {
		sp := sortPart(p.rows)
		h.mu.Lock()
		if h.srt == nil {
			h.parts = append(h.parts, sp)
			h.mu.Unlock()
			p.rows = nil
			return nil
		}
		h.mu.Unlock()
	}
	err := p.flush()
	putRows(p.rows)
	p.rows = nil
	return err
}

// drop lets a failed shard's rows go: the merge would leave them out.
// Rows already in the sorter stay there, and the merge skips them.
func (p *part) drop() {
	p.h.n.Add(int64(p.n))
	if !p.h.over.Load() {
		p.h.bytes.Add(p.unsent - p.bytes)
	}
	putRows(p.rows)
	p.rows = nil
}

// compareRows is the sorter's order (extsort.Compare) without copying
// two Rows a call.
func compareRows(a, b *Row) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Shard, b.Shard)
}

// row is the part's i-th row in (name, shard) order.
func (p sortedPart) row(i int) *Row {
	if p.ord != nil {
		i = int(p.ord[i])
	}
	return &p.rows[i]
}

func sortPart(rows []Row) sortedPart {
	inOrder := true
	for i := 1; i < len(rows) && inOrder; i++ {
		inOrder = compareRows(&rows[i-1], &rows[i]) <= 0
	}
	if inOrder {
		return sortedPart{rows: rows}
	}
	ord := make([]int32, len(rows))
	for i := range ord {
		ord[i] = int32(i)
	}
	slices.SortFunc(ord, func(a, b int32) int { return compareRows(&rows[a], &rows[b]) })
	return sortedPart{rows: rows, ord: ord}
}

// merged reads sorted parts in (name, shard) order: a heap of the parts
// by their next row. container/heap, as the sorter's merge: a heap by
// hand measured the same (BenchmarkSmallPartialPage, 4.1-4.3 ms a page
// either way).
type merged struct {
	parts []sortedPart
	at    []int
	heap  []int
}

func newMerged(parts []sortedPart) *merged {
	m := &merged{parts: parts, at: make([]int, len(parts))}
	for i, p := range parts {
		if len(p.rows) > 0 {
			m.heap = append(m.heap, i)
		}
	}
	heap.Init(m)
	return m
}

// head is part p's next row.
func (m *merged) head(p int) *Row { return m.parts[p].row(m.at[p]) }

func (m *merged) Len() int { return len(m.heap) }
func (m *merged) Less(i, j int) bool {
	return compareRows(m.head(m.heap[i]), m.head(m.heap[j])) < 0
}
func (m *merged) Swap(i, j int) { m.heap[i], m.heap[j] = m.heap[j], m.heap[i] }
func (m *merged) Push(x any)    { m.heap = append(m.heap, x.(int)) }
func (m *merged) Pop() any {
	last := m.heap[len(m.heap)-1]
	m.heap = m.heap[:len(m.heap)-1]
	return last
}

func (m *merged) next() (*Row, bool) {
	if len(m.heap) == 0 {
		return nil, false
	}
	p := m.heap[0]
	r := m.head(p)
	m.at[p]++
	if m.at[p] == len(m.parts[p].rows) {
		heap.Pop(m)
	} else {
		heap.Fix(m, 0)
	}
	return r, true
}

// partRows are the row slices of closed answers, up to pooledPartRows
// rows each: the next fan-out's parts start with room, where growing a
// slice row by row to a shard's 500 or 1,000 rows cost a tenth of a
// small page's CPU (BenchmarkSmallPartialPage). The room a part has not
// filled is not counted as rows are, so held.part bounds the pooled
// room one answer takes.
var partRows sync.Pool

const pooledPartRows = 4096

func getRows() []Row {
	if pr, ok := partRows.Get().(*[]Row); ok {
		return *pr
	}
	return make([]Row, 0, addBatch)
}

func putRows(rows []Row) {
	if c := cap(rows); c > 0 && c <= pooledPartRows {
		clear(rows[:c])
		rows = rows[:0]
		partRows.Put(&rows)
	}
}
