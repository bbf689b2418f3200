package extsort

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"unsafe"

	"github.com/shearch/shearch/internal/fault"
)

// A run is rows one after another, each its six fields as a uvarint
// length and the bytes. The file is the process's own and lives only
// while open, so the format needs no version or checksum.

// appendRow encodes a row as its six fields, each a length and bytes.
func appendRow(b []byte, r Row) []byte {
	for _, f := range [...]string{r.Name, r.Shard, r.Source, r.URL, r.Ohai} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Data)))
	return append(b, r.Data...)
}

// maxField bounds a field read back from a run (the file is Shearch's
// own; this only stops a damaged one from asking for the moon).
const maxField = 1 << 30

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
		if err == nil && n > maxField {
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
			return false, fault.Errorf(fault.Internal, "reading a sorted run back from search.spill_dir: %w", err)
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
