package extsort

import (
	"bufio"
	"container/heap"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fault"
)

// A stream in name order must see every row before it sends the first,
// and a fleet's rows do not fit a fixed amount of memory. The sorter is
// an external merge sort, as a database sorts past its work memory: rows
// are held up to a byte bound, then sorted and written to a temporary
// file as a run; reading merges the runs. Memory is the bound plus a
// read buffer per run, whatever the fleet's size. The bound is small
// (1 MiB) on purpose: runs go to the page cache, and measured on the
// scale rig a 1 MiB bound was both faster and smaller than 4 MiB (the
// 8x40k partial stream 212k rows/s and 27.9 MiB against 173k and 35.6
// MiB), as memory the process never grows is memory it never faults in.
//
// The row is the answer's own type rather than a type parameter: the
// hot path (add, compare, encode) stays direct calls, as it was when the
// sorter lived in the engine.

// Row is what the sorter sorts: an answer's row.
type Row = api.Row

const (
	// DefaultMemBytes and DefaultMaxBytes are a Config's bounds when it
	// leaves them zero.
	DefaultMemBytes = 1 << 20
	DefaultMaxBytes = 4 << 30
	// RowOverhead is about what a Row costs beyond its bytes: its
	// headers and the strings' own allocations.
	RowOverhead = 128
	// minGrow is the fewest rows the held slice grows by: the engine
	// adds 256 at a time.
	minGrow = 256
	// runBuffer is the read buffer of one run while merging: a 1 GiB
	// answer sorted in 1 MiB runs reads 1,000 runs through 16 MiB.
	runBuffer = 16 << 10
)

// Config bounds one sort.
type Config struct {
	// MemBytes bounds the rows held in memory before a run is written
	// (default DefaultMemBytes).
	MemBytes int
	// MaxBytes bounds the bytes the runs may take on disk (default
	// DefaultMaxBytes).
	MaxBytes int64
	// Dir holds the runs' file ("" is the system's temporary directory).
	Dir string
	// Budget, shared by every sort of the process, bounds all their runs
	// together; nil bounds nothing more.
	Budget *Budget
	// Spilled, when set, hears the bytes of each run written.
	Spilled func(n int64)
}

// heldRows are the held slices of closed sorters, up to pooledRows rows
// (a 20-row partial page over 8 shards holds 4,000): the next sorter
// starts with room, where growing one cost a page 1.3 MB of copies.
var heldRows sync.Pool

const pooledRows = 8192

// Sorter collects rows from many goroutines and gives them back in
// (name, shard) order.
type Sorter struct {
	maxBytes   int
	maxSpilled int64
	dir        string

	mu      sync.Mutex
	rows    []Row
	held    int
	file    *os.File
	w       *bufio.Writer
	runs    []run
	spilled int64
	n       int
	err     error
	// spilledTo hears the bytes of each run written.
	spilledTo func(int64)
	// reserved is this sorter's part of the budget, given back by Close.
	budget   *Budget
	reserved int64
}

// run is one sorted run: a section of the file.
type run struct{ off, size int64 }

// New is a sorter bounded by cfg; the caller closes it.
func New(cfg Config) *Sorter {
	s := &Sorter{maxBytes: cfg.MemBytes, maxSpilled: cfg.MaxBytes, dir: cfg.Dir, spilledTo: cfg.Spilled, budget: cfg.Budget}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMemBytes
	}
	if s.maxSpilled <= 0 {
		s.maxSpilled = DefaultMaxBytes
	}
	if s.spilledTo == nil {
		s.spilledTo = func(int64) {}
	}
	return s
}

// RowBytes is what a row counts against a sort's memory bound: a caller
// that holds rows itself before they reach a sorter counts them the same.
func RowBytes(r Row) int {
	return RowOverhead + len(r.Name) + len(r.Shard) + len(r.URL) + len(r.Data) + len(r.Ohai)
}

// Add keeps rows; past the memory bound the rows held are written out as
// a sorted run. Safe for concurrent use: a caller that adds while a run
// is written waits, which paces the readers that feed it. Callers add a
// batch at a time, so they take the lock once a batch, not once a row.
func (s *Sorter) Add(rows ...Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows == nil {
		if pr, ok := heldRows.Get().(*[]Row); ok {
			s.rows = *pr
		}
	}
	if len(s.rows)+len(rows) > cap(s.rows) {
		// Doubled, up to what the bound can hold (a run is written
		// past it): append grows a large slice by a quarter, and the
		// 4,000 rows of a 20-row partial page over 8 shards were then
		// copied about five times, 1.8 MB a page through write barriers.
		most := s.maxBytes/RowOverhead + 1
		s.rows = slices.Grow(s.rows, max(len(rows), min(max(cap(s.rows), minGrow), most-len(s.rows))))
	}
	for _, r := range rows {
		if s.err != nil {
			return s.err
		}
		s.rows = append(s.rows, r)
		s.held += RowBytes(r)
		s.n++
		if s.held > s.maxBytes {
			s.err = s.spill()
		}
	}
	return s.err
}

// Err is the sorter's own failure, if it failed.
func (s *Sorter) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Count is how many rows were added.
func (s *Sorter) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Sort puts rows in the sorter's order.
func Sort(rows []Row) {
	// Name then shard is a total order among one answer's rows, so an
	// unstable sort is enough. The sort moves indices, and each row is
	// then moved once: a Row is 104 bytes with five pointers, and while
	// the GC marks (most of a busy fan-out) every move of one goes
	// through write barriers. Sorting the rows themselves was as much of
	// Shearch's CPU on a 20-row partial page of 8x500 matches as decoding
	// them; BenchmarkSortRows: 4.1 ms against 1.6 ms while the GC marks,
	// 0.81 against 0.56 ms when it does not.
	idx := make([]int32, len(rows))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		ra, rb := &rows[a], &rows[b] // not Compare: it copies two Rows a call
		if c := strings.Compare(ra.Name, rb.Name); c != 0 {
			return c
		}
		return strings.Compare(ra.Shard, rb.Shard)
	})
	// rows[j] takes rows[idx[j]]: follow each cycle of the permutation,
	// marking the places done.
	for i := range rows {
		if idx[i] < 0 {
			continue
		}
		tmp := rows[i]
		j := i
		for {
			k := int(idx[j])
			idx[j] = -1
			if k == i {
				rows[j] = tmp
				break
			}
			rows[j] = rows[k]
			j = k
		}
	}
}

// Compare is the sorter's order: name, then shard.
func Compare(a, b Row) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Shard, b.Shard)
}

// spill writes the held rows as one sorted run.
func (s *Sorter) spill() error {
	Sort(s.rows)
	if err := s.writeRun(len(s.rows), func(i int) *Row { return &s.rows[i] }); err != nil {
		return err
	}
	clear(s.rows) // let the rows' bytes go
	s.rows, s.held = s.rows[:0], 0
	return nil
}

// AddRun writes n rows as one sorted run of their own, row(i) being the
// i-th in the sorter's order, without holding them: a caller that held
// rows itself, sorted and within the memory bound, hands them over once
// the bound is passed, and memory does not hold them twice.
func (s *Sorter) AddRun(n int, row func(i int) *Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.n += n
	s.err = s.writeRun(n, row)
	return s.err
}

// writeRun writes n rows, in order, as one run. The file is removed as
// soon as it is made: it lives while open, and nothing is left behind if
// the process dies.
func (s *Sorter) writeRun(n int, row func(int) *Row) error {
	if n == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "shearch-sort-")
		if err != nil {
			return fault.Errorf(fault.Internal, "sorting a large answer needs a temporary file: %w; set search.spill_dir to a writable directory", err)
		}
		os.Remove(f.Name())
		s.file, s.w = f, bufio.NewWriterSize(f, 256<<10)
	}
	start := s.spilled
	var buf []byte
	for i := 0; i < n; i++ {
		buf = appendRow(buf[:0], *row(i))
		if s.spilled+int64(len(buf)) > s.maxSpilled {
			// Refused before it is written: the bound holds on disk and
			// in the shared budget, not only once the run is done.
			return errSpillBound(s.maxSpilled)
		}
		if err := s.budget.take(int64(len(buf))); err != nil {
			return err
		}
		s.reserved += int64(len(buf))
		if _, err := s.w.Write(buf); err != nil {
			return errWrite(err)
		}
		s.spilled += int64(len(buf))
	}
	if err := s.w.Flush(); err != nil {
		return errWrite(err)
	}
	s.runs = append(s.runs, run{off: start, size: s.spilled - start})
	s.spilledTo(s.spilled - start)
	return nil
}

func errWrite(err error) error {
	return fault.Errorf(fault.NoSpace, "writing a sorted run to search.spill_dir: %w; free space there or point search.spill_dir elsewhere", err)
}

func errSpillBound(max int64) error {
	return fault.Errorf(fault.NoSpace, "the answer is larger than search.spill_max_bytes (%d bytes) once sorted: narrow the query, or stream it with order=none", max)
}

// source is a sorted run or the rows still in memory.
type source struct {
	run  *runReader
	mem  []Row
	cur  Row
	done bool
}

func (src *source) advance() error {
	if src.run == nil {
		if len(src.mem) == 0 {
			src.done = true
			return nil
		}
		src.cur, src.mem = src.mem[0], src.mem[1:]
		return nil
	}
	ok, err := src.run.next()
	if err != nil {
		return err
	}
	src.done = !ok
	src.cur = src.run.cur
	return nil
}

type sourceHeap []*source

func (h sourceHeap) Len() int           { return len(h) }
func (h sourceHeap) Less(i, j int) bool { return Compare(h[i].cur, h[j].cur) < 0 }
func (h sourceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)        { *h = append(*h, x.(*source)) }
func (h *sourceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Sorted returns an iterator over every row added, in (name, shard)
// order; Add must not be called any more.
func (s *Sorter) Sorted() (func() (Row, bool, error), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	Sort(s.rows)
	h := sourceHeap{}
	interned := map[string]string{}
	for _, run := range s.runs {
		rr := &runReader{r: bufio.NewReaderSize(io.NewSectionReader(s.file, run.off, run.size), runBuffer), interned: interned}
		h = append(h, &source{run: rr})
	}
	h = append(h, &source{mem: s.rows})
	live := h[:0]
	for _, src := range h {
		if err := src.advance(); err != nil {
			return nil, err
		}
		if !src.done {
			live = append(live, src)
		}
	}
	heap.Init(&live)
	return func() (Row, bool, error) {
		if len(live) == 0 {
			return Row{}, false, nil
		}
		top := live[0]
		r := top.cur
		if err := top.advance(); err != nil {
			return Row{}, false, err
		}
		if top.done {
			heap.Pop(&live)
		} else {
			heap.Fix(&live, 0)
		}
		return r, true, nil
	}, nil
}

// Close lets the file, the rows and the budget's share go.
func (s *Sorter) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.budget.give(s.reserved)
	s.reserved = 0
	if c := cap(s.rows); c > 0 && c <= pooledRows {
		clear(s.rows[:c])
		rows := s.rows[:0]
		heldRows.Put(&rows)
	}
	s.rows = nil
	if s.err == nil {
		// Closed by Shearch, not failed by a shard: a fault, so no
		// shard is blamed for a read cut short by it.
		s.err = fault.Errorf(fault.Internal, "sorter closed")
	}
}
