package search

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"unsafe"

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

const (
	defaultSortBytes  = 1 << 20
	defaultSpillBytes = 4 << 30
	// rowOverhead is about what a Row costs beyond its bytes: its
	// headers and the strings' own allocations.
	rowOverhead = 128
	// runBuffer is the read buffer of one run while merging: a 1 GiB
	// answer sorted in 1 MiB runs reads 1,000 runs through 16 MiB.
	runBuffer = 16 << 10
)

// sorter collects rows from many goroutines and gives them back in
// (name, shard) order.
type sorter struct {
	maxBytes   int   // rows held in memory before a run is written
	maxSpilled int64 // bytes the runs may take on disk
	dir        string

	mu      sync.Mutex
	rows    []Row
	held    int
	file    *os.File
	w       *bufio.Writer
	runs    []spillRun
	spilled int64
	n       int
	err     error
	// spilledTo hears the bytes of each run written.
	spilledTo func(int64)
	// budget is the engine's, shared by every request; reserved is
	// this sorter's part of it, given back by close.
	budget   *spillBudget
	reserved int64
}

// spillRun is one sorted run: a section of the file.
type spillRun struct{ off, size int64 }

func (e *Engine) newSorter() *sorter {
	s := &sorter{maxBytes: e.SortBytes, maxSpilled: e.SpillBytes, dir: e.SpillDir, spilledTo: e.metrics.addSpilled, budget: e.spillBudget()}
	if s.maxBytes <= 0 {
		s.maxBytes = defaultSortBytes
	}
	if s.maxSpilled <= 0 {
		s.maxSpilled = defaultSpillBytes
	}
	return s
}

func rowBytes(r Row) int {
	return rowOverhead + len(r.Name) + len(r.Shard) + len(r.URL) + len(r.Data) + len(r.Ohai)
}

// add keeps rows; past the memory bound the rows held are written out as
// a sorted run. Safe for concurrent use: a shard that adds while a run is
// written waits, which paces the shards' reads. Shards add a batch at a
// time, so they take the lock once a batch, not once a row.
func (s *sorter) add(rows ...Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		if s.err != nil {
			return s.err
		}
		s.rows = append(s.rows, r)
		s.held += rowBytes(r)
		s.n++
		if s.held > s.maxBytes {
			s.err = s.spill()
		}
	}
	return s.err
}

// failure is the sorter's own error, if it failed.
func (s *sorter) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// count is how many rows were added.
func (s *sorter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func sortRows(rows []Row) {
	// Name then shard is a total order among one answer's rows, so an
	// unstable sort is enough.
	slices.SortFunc(rows, compareRows)
}

func compareRows(a, b Row) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Shard, b.Shard)
}

// spill writes the held rows as one sorted run. The file is removed as
// soon as it is made: it lives while open, and nothing is left behind if
// the process dies.
func (s *sorter) spill() error {
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "shearch-sort-")
		if err != nil {
			return fault.Errorf(fault.Internal, "sorting a large answer needs a temporary file: %v; set search.spill_dir to a writable directory", err)
		}
		os.Remove(f.Name())
		s.file, s.w = f, bufio.NewWriterSize(f, 256<<10)
	}
	sortRows(s.rows)
	start := s.spilled
	var buf []byte
	for i := range s.rows {
		buf = appendRow(buf[:0], s.rows[i])
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
			return fault.Errorf(fault.NoSpace, "writing a sorted run to search.spill_dir: %v; free space there or point search.spill_dir elsewhere", err)
		}
		s.spilled += int64(len(buf))
	}
	if err := s.w.Flush(); err != nil {
		return fault.Errorf(fault.NoSpace, "writing a sorted run to search.spill_dir: %v; free space there or point search.spill_dir elsewhere", err)
	}
	s.runs = append(s.runs, spillRun{off: start, size: s.spilled - start})
	s.spilledTo(s.spilled - start)
	clear(s.rows) // let the rows' bytes go
	s.rows, s.held = s.rows[:0], 0
	return nil
}

func errSpillBound(max int64) error {
	return fault.Errorf(fault.NoSpace, "the answer is larger than search.spill_max_bytes (%d bytes) once sorted: narrow the query, or stream it with order=none", max)
}

// appendRow encodes a row as its six fields, each a length and bytes.
func appendRow(b []byte, r Row) []byte {
	for _, f := range [...]string{r.Name, r.Shard, r.Source, r.URL, r.Ohai} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Data)))
	return append(b, r.Data...)
}

// runReader reads one run back, a row at a time.
type runReader struct {
	r   *bufio.Reader
	cur Row
	// interned keeps one copy of the few shard and source names.
	interned map[string]string
	scratch  []byte
}

// next reads the next row: its fields into scratch, then the name, URL,
// ohai_time and data into one allocation that the row's strings share
// (they are never written again), one allocation a row instead of four.
func (rr *runReader) next() (bool, error) {
	var ends [6]int
	rr.scratch = rr.scratch[:0]
	for i := range ends {
		n, err := binary.ReadUvarint(rr.r)
		if err == io.EOF && i == 0 {
			return false, nil
		}
		if err == nil && n > maxSpilledField {
			err = fmt.Errorf("a field of %d bytes", n)
		}
		if err == nil {
			start := len(rr.scratch)
			rr.scratch = append(rr.scratch, make([]byte, n)...)
			_, err = io.ReadFull(rr.r, rr.scratch[start:])
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return false, fault.Errorf(fault.Internal, "reading a sorted run back from search.spill_dir: %v", err)
		}
		ends[i] = len(rr.scratch)
	}
	field := func(i int) []byte {
		if i == 0 {
			return rr.scratch[:ends[0]]
		}
		return rr.scratch[ends[i-1]:ends[i]]
	}
	intern := func(b []byte) string {
		s, ok := rr.interned[string(b)]
		if !ok {
			s = string(b)
			rr.interned[s] = s
		}
		return s
	}
	name, url, ohai, data := field(0), field(3), field(4), field(5)
	buf := make([]byte, 0, len(name)+len(url)+len(ohai)+len(data))
	buf = append(append(append(append(buf, data...), name...), url...), ohai...)
	str := func(lo, n int) string {
		if n == 0 {
			return ""
		}
		return unsafe.String(&buf[lo], n)
	}
	r := Row{Shard: intern(field(1)), Source: intern(field(2))}
	if len(data) > 0 {
		r.Data = json.RawMessage(buf[:len(data):len(data)])
	}
	r.Name = str(len(data), len(name))
	r.URL = str(len(data)+len(name), len(url))
	r.Ohai = str(len(data)+len(name)+len(url), len(ohai))
	rr.cur = r
	return true, nil
}

// maxSpilledField bounds a field read back from a run (the file is
// Shearch's own; this only stops a damaged one from asking for the moon).
const maxSpilledField = 1 << 30

// rowSource is a sorted run or the rows still in memory.
type rowSource struct {
	run  *runReader
	mem  []Row
	cur  Row
	done bool
}

func (src *rowSource) advance() error {
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

type sourceHeap []*rowSource

func (h sourceHeap) Len() int           { return len(h) }
func (h sourceHeap) Less(i, j int) bool { return compareRows(h[i].cur, h[j].cur) < 0 }
func (h sourceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)        { *h = append(*h, x.(*rowSource)) }
func (h *sourceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sorted returns an iterator over every row added, in (name, shard)
// order; add must not be called any more.
func (s *sorter) sorted() (func() (Row, bool, error), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	sortRows(s.rows)
	h := sourceHeap{}
	interned := map[string]string{}
	for _, run := range s.runs {
		rr := &runReader{r: bufio.NewReaderSize(io.NewSectionReader(s.file, run.off, run.size), runBuffer), interned: interned}
		h = append(h, &rowSource{run: rr})
	}
	h = append(h, &rowSource{mem: s.rows})
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

// close lets the file and the rows go.
func (s *sorter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.budget.give(s.reserved)
	s.reserved = 0
	s.rows = nil
	if s.err == nil {
		s.err = fault.Errorf(fault.Internal, "sorter closed")
	}
}
