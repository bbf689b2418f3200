package shards

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"unsafe"
)

// Row is one search hit from one shard. The object travels as the raw
// JSON the shard sent: decoding a 10 KB node into maps costs about 80 KB
// of heap, and Shearch only ever needs its name and ohai_time.
type Row struct {
	// Name orders rows globally: the object's name (for data bag items,
	// Chef's data_bag_item_BAG_ID name, as knife shows them).
	Name string
	// URL is the object's URL on the shard. Search rows leave it empty:
	// it is the shard's URL and the object's name, and a fleet's worth of
	// them is megabytes; the engine writes it on the rows it answers.
	URL string
	// Data is the whole object, or the partial-search hash.
	Data json.RawMessage
	// Ohai is automatic.ohai_time as the JSON number text the shard sent
	// (empty when absent): the newest copy of a duplicated node wins.
	Ohai string
}

// Keys Shearch adds to every partial-search body so each row carries its
// name for the global order and, for nodes, its ohai_time for the
// duplicate rule, whatever keys the caller asked for. Both are removed
// from the row before anyone sees it.
const (
	nameKey = "__shearch_name"
	ohaiKey = "__shearch_ohai_time"
)

// NewRow builds a row from a decoded object (the Consul fallback, tests).
func NewRow(name string, obj any) (Row, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return Row{}, fmt.Errorf("encoding %s: %v", name, err)
	}
	r := wholeRow(b)
	if r.Ohai == "" {
		// A partial-search hash that asked for ohai_time at the top.
		members(b, func(k, v []byte) bool {
			if string(k) == "ohai_time" && isNumber(v) {
				r.Ohai = string(v)
			}
			return true
		})
	}
	r.Name = name
	return r, nil
}

// decodeRows reads a search answer ({"total":..,"start":..,"rows":[..]})
// as a stream and calls fn for each row, so a page is never held whole as
// text and maps at once. It returns the number of rows read.
//
// Each row is found in the read buffer and checked there (validJSON)
// before anything is allocated for it; what a row keeps is then copied
// once, at its exact size: a whole object's text, or for a partial row its
// stripped hash and name together. Rows larger than the buffer are
// gathered in a scratch buffer that the reader keeps between answers.
func decodeRows(r io.Reader, partial bool, fn func(Row) error) (int, error) {
	s := getScanner(r)
	defer putScanner(s)
	c, err := s.peek()
	if err != nil {
		return 0, err
	}
	if c != '{' {
		return 0, fmt.Errorf("want '{', got %q", c)
	}
	s.r.Discard(1)
	n := 0
	for first := true; ; first = false {
		c, err := s.peek()
		if err != nil {
			return n, err
		}
		if c == '}' {
			return n, nil
		}
		if !first {
			if c != ',' {
				return n, fmt.Errorf("want , or } between members, got %q", c)
			}
			s.r.Discard(1)
			if c, err = s.peek(); err != nil {
				return n, err
			}
		}
		if c != '"' {
			return n, fmt.Errorf("want a key, got %q", c)
		}
		key, err := s.value()
		if err != nil {
			return n, err
		}
		if !validJSON(key) {
			return n, errors.New("a key is not valid JSON")
		}
		isRows := string(key) == `"rows"` || bytes.IndexByte(key, '\\') >= 0 && unquote(key) == "rows"
		if c, err = s.peek(); err != nil {
			return n, err
		}
		if c != ':' {
			return n, fmt.Errorf("want : after a key, got %q", c)
		}
		s.r.Discard(1)
		if c, err = s.peek(); err != nil {
			return n, err
		}
		if isRows && c == '[' {
			s.r.Discard(1)
			// The rows are split here rather than by encoding/json's
			// decoder, which scans each one twice and copies it: for 10 KB
			// nodes that was most of Shearch's CPU.
			return s.rows(partial, fn)
		}
		v, err := s.value()
		if err != nil {
			return n, err
		}
		if !validJSON(v) {
			return n, errors.New("a member of the answer is not valid JSON")
		}
		if isRows && string(v) != "null" { // "rows": null is no rows
			return n, errors.New(`"rows" is not a list`)
		}
	}
}

// rows reads the elements of the rows list, whose '[' is read, and
// returns at its ']': the rest of the answer says nothing we use.
func (s *scanner) rows(partial bool, fn func(Row) error) (int, error) {
	n := 0
	for {
		c, err := s.peek()
		if err != nil {
			return n, err
		}
		if c == ']' {
			s.r.Discard(1)
			return n, nil
		}
		if n > 0 {
			if c != ',' {
				return n, fmt.Errorf("want , or ] between rows, got %q", c)
			}
			s.r.Discard(1)
			if c, err = s.peek(); err != nil {
				return n, err
			}
		}
		if c != '{' {
			return n, fmt.Errorf("a row is not an object (starts with %q)", c)
		}
		var row Row
		if partial {
			if row, err = s.nextPartial(); err != nil {
				return n, err
			}
		} else {
			raw, err := s.value()
			if err != nil {
				return n, err
			}
			if !validJSON(raw) {
				return n, errors.New("a row is not valid JSON")
			}
			// raw is in the reader's buffer: the row keeps a copy.
			data := make([]byte, len(raw))
			copy(data, raw)
			row = wholeRow(data)
		}
		n++
		if err := fn(row); err != nil {
			return n, &rowError{err}
		}
	}
}

// scanner finds the boundaries of JSON values in a stream. Only the
// boundaries: every value it returns is checked with validJSON before it
// is used.
type scanner struct {
	r *bufio.Reader
	// pending is the length of the last value returned from the reader's
	// buffer: it is consumed at the next call, so the value stays valid
	// until then (bufio's Peek contract).
	pending int
	// scratch holds a value that does not fit the reader's buffer, and
	// the stripped hash of a partial row while it is built.
	scratch, strip []byte
}

const (
	scanBuffer = 64 << 10
	// maxKeptScratch bounds the scratch buffers a pooled scanner keeps: a
	// shard's one huge object should not stay in memory for good.
	maxKeptScratch = 1 << 20
)

// scanners are pooled: two 64 KiB buffers a page were most of the bytes a
// search of small partial rows allocated.
var scanners = sync.Pool{New: func() any { return &scanner{r: bufio.NewReaderSize(nil, scanBuffer)} }}

func getScanner(r io.Reader) *scanner {
	s := scanners.Get().(*scanner)
	s.r.Reset(r)
	return s
}

func putScanner(s *scanner) {
	s.r.Reset(nil) // holds no answer body
	s.pending = 0
	if cap(s.scratch) > maxKeptScratch {
		s.scratch = nil
	}
	if cap(s.strip) > maxKeptScratch {
		s.strip = nil
	}
	scanners.Put(s)
}

// peek consumes whitespace and returns the next byte, unread.
func (s *scanner) peek() (byte, error) {
	if s.pending > 0 {
		s.r.Discard(s.pending)
		s.pending = 0
	}
	for {
		chunk, err := s.r.Peek(max(s.r.Buffered(), 1))
		for i, c := range chunk {
			if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
				s.r.Discard(i)
				return c, nil
			}
		}
		s.r.Discard(len(chunk))
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}

// value returns the JSON value that starts at the next byte (as peek
// left it). The slice is valid until the next call of peek or value.
func (s *scanner) value() ([]byte, error) {
	if s.pending > 0 {
		s.r.Discard(s.pending)
		s.pending = 0
	}
	depth, inStr, esc := 0, false, false
	scalar := false
	spanned := false // the value's start is in scratch
	s.scratch = s.scratch[:0]
	scanned := 0 // bytes of chunk already scanned
	want := max(s.r.Buffered(), 1)
	for {
		chunk, err := s.r.Peek(want)
		if err == bufio.ErrBufferFull {
			err = nil
		}
		if len(chunk) <= scanned {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		end := -1
		i := scanned
		if i == 0 && !spanned {
			switch chunk[0] {
			case '{', '[':
				depth = 1
			case '"':
				inStr = true
			default:
				scalar = true
			}
			i = 1
		}
	scan:
		for ; i < len(chunk); i++ {
			c := chunk[i]
			if inStr {
				if esc {
					esc = false
					continue
				}
				// Long strings are most of a node: jump to the next
				// quote or backslash.
				j := quoteOrBackslash(chunk[i:])
				if j < 0 {
					i = len(chunk) - 1
					continue
				}
				i += j
				if chunk[i] == '\\' {
					esc = true
				} else if inStr = false; depth == 0 {
					end = i + 1
					break scan
				}
				continue
			}
			if scalar {
				switch c {
				case ',', '}', ']', ' ', '\n', '\t', '\r':
					end = i
					break scan
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					end = i + 1
					break scan
				}
			}
		}
		if end >= 0 {
			if !spanned {
				s.pending = end
				return chunk[:end], nil
			}
			s.scratch = append(s.scratch, chunk[:end]...)
			s.r.Discard(end)
			return s.scratch, nil
		}
		if !spanned && len(chunk) < s.r.Size() {
			// Let the reader slide the value to the front of its buffer
			// and read more: a value smaller than the buffer is then
			// returned from it, uncopied.
			scanned = len(chunk)
			if _, err := s.r.Peek(len(chunk) + 1); err != nil && err != bufio.ErrBufferFull && s.r.Buffered() <= len(chunk) {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
			want = s.r.Buffered()
			continue
		}
		// Larger than the buffer: gathered in scratch.
		spanned = true
		s.scratch = append(s.scratch, chunk...)
		s.r.Discard(len(chunk))
		scanned, want = 0, max(s.r.Buffered(), 1)
	}
}

// ObjectRow is the row of a whole object read with GET: its name and
// automatic.ohai_time are read without decoding the rest.
func ObjectRow(raw []byte) Row { return wholeRow(raw) }

// wholeRow reads name and automatic.ohai_time from a whole object without
// decoding the rest. The two strings are one allocation (see partialRow),
// apart from the object: a caller that keeps the name of a 10 KB object
// does not keep the object.
func wholeRow(raw json.RawMessage) Row {
	r := Row{Data: raw}
	var name, id, ohai []byte
	members(raw, func(k, v []byte) bool {
		switch string(k) {
		case "name":
			name = v
		case "id":
			id = v
		case "automatic":
			members(v, func(k, v []byte) bool {
				if string(k) == "ohai_time" && isNumber(v) {
					ohai = v
					return false
				}
				return true
			})
		}
		return true
	})
	text := rawString(name)
	if len(text) == 0 {
		// Escapes, or data bag items as some servers return them: raw
		// items with an id.
		if r.Name = unquote(name); r.Name == "" {
			r.Name = unquote(id)
		}
		r.Ohai = string(ohai)
		return r
	}
	buf := make([]byte, len(text)+len(ohai))
	copy(buf[copy(buf, text):], ohai)
	both := unsafe.String(&buf[0], len(buf))
	r.Name, r.Ohai = both[:len(text)], both[len(text):]
	return r
}

// rawString returns the text of a JSON string without its quotes when it
// holds no escapes, else nil.
func rawString(v []byte) []byte {
	if !isString(v) || bytes.IndexByte(v, '\\') >= 0 {
		return nil
	}
	return v[1 : len(v)-1 : len(v)-1]
}

func isString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// members calls fn with each top-level key (raw, between its quotes) and
// value of the JSON object b, until fn returns false. b is valid JSON
// (json.Decoder checked it), so this only has to find boundaries. It is
// hand-written because encoding/json cannot visit an object's members
// without allocating each value, and this runs for every row: measured,
// a row costs a few hundred nanoseconds here against several µs via
// map[string]json.RawMessage.
func members(b []byte, fn func(key, val []byte) bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return
		}
		kEnd := skipString(b, i)
		key := b[i+1 : kEnd-1]
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return
		}
		i = skipWS(b, i+1)
		vEnd := skipValue(b, i)
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if json.Unmarshal(b[kEnd-len(key)-2:kEnd], &s) == nil {
				key = []byte(s)
			}
		}
		if !fn(key, b[i:vEnd]) {
			return
		}
		i = skipWS(b, vEnd)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		j := quoteOrBackslash(b[i:])
		if j < 0 {
			return len(b)
		}
		i += j
		if b[i] == '"' {
			return i + 1
		}
		i++ // the escaped byte
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\n', '\t', '\r':
			return i
		}
	}
	return i
}

func unquote(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	var s string
	json.Unmarshal(v, &s)
	return s
}

func isNumber(v []byte) bool {
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}

// quoteOrBackslash is bytes.IndexAny(b, `"\`) with two vectorised
// IndexByte scans: IndexAny goes byte by byte, and this runs over every
// byte of every object.
func quoteOrBackslash(b []byte) int {
	q := bytes.IndexByte(b, '"')
	end := q
	if q < 0 {
		end = len(b)
	}
	if bs := bytes.IndexByte(b[:end], '\\'); bs >= 0 {
		return bs
	}
	return q
}

// Names reads a Chef list answer ({"name": "url", ...}: nodes, roles,
// data bags, items) and returns its names, without decoding the URLs into
// a map: a shard's list of every node is the cheap way to learn its names.
func (c *Client) Names(ctx context.Context, p Path) ([]string, error) {
	raw, err := c.Do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, err
	}
	if !validJSON(raw) || len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil, shardErrorf(c.Shard.Name, "the list at %s is not a JSON object", p)
	}
	var names []string
	members(raw, func(k, _ []byte) bool {
		names = append(names, string(k))
		return true
	})
	return names, nil
}
