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
	"net/url"
	"path"
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
func decodeRows(r io.Reader, partial bool, fn func(Row) error) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	dec := json.NewDecoder(br)
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	n := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return n, err
		}
		if key, _ := t.(string); key != "rows" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, err
			}
			continue
		}
		if t, err := dec.Token(); err != nil {
			return n, err
		} else if t == nil {
			continue // "rows": null
		} else if d, ok := t.(json.Delim); !ok || d != '[' {
			return n, errors.New(`"rows" is not a list`)
		}
		// The rows are split here rather than by the decoder, which
		// scans each one twice and copies it: for 10 KB nodes that was
		// most of Shearch's CPU. Each row is still checked with
		// json.Valid before anyone sees it.
		sp := splitter{r: bufio.NewReaderSize(io.MultiReader(dec.Buffered(), br), 64<<10)}
		for {
			raw, err := sp.next()
			if err == io.EOF {
				return n, nil // the rest of the answer says nothing we use
			}
			if err != nil {
				return n, err
			}
			if !json.Valid(raw) {
				return n, errors.New("a row is not valid JSON")
			}
			n++
			var row Row
			if partial {
				row = partialRow(raw)
			} else {
				row = wholeRow(raw)
			}
			if err := fn(row); err != nil {
				return n, &rowError{err}
			}
		}
	}
	return n, nil
}

// splitter cuts the elements of a JSON list that its reader is inside of,
// one object at a time.
type splitter struct {
	r     *bufio.Reader
	first bool
	done  bool
}

// next returns the next element (a copy the caller may keep), or io.EOF
// after the closing bracket.
func (s *splitter) next() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	c, err := s.skipWS()
	if err != nil {
		return nil, err
	}
	if c == ']' {
		s.done = true
		return nil, io.EOF
	}
	if s.first {
		if c != ',' {
			return nil, fmt.Errorf("want , or ] between rows, got %q", c)
		}
		if c, err = s.skipWS(); err != nil {
			return nil, err
		}
	}
	s.first = true
	if c != '{' {
		return nil, fmt.Errorf("a row is not an object (starts with %q)", c)
	}
	out := []byte{'{'}
	depth, inStr, esc := 1, false, false
	for {
		chunk, err := s.r.Peek(max(s.r.Buffered(), 1))
		if len(chunk) == 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		for i := 0; i < len(chunk); i++ {
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
				} else {
					inStr = false
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
					out = append(out, chunk[:i+1]...)
					s.r.Discard(i + 1)
					return out, nil
				}
			}
		}
		out = append(out, chunk...)
		s.r.Discard(len(chunk))
	}
}

func (s *splitter) skipWS() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return c, nil
		}
	}
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}

// ObjectRow is the row of a whole object read with GET: its name and
// automatic.ohai_time are read without decoding the rest.
func ObjectRow(raw []byte) Row { return wholeRow(raw) }

// wholeRow reads name and automatic.ohai_time from a whole object without
// decoding the rest.
func wholeRow(raw json.RawMessage) Row {
	r := Row{Data: raw}
	var id string
	members(raw, func(k, v []byte) bool {
		switch string(k) {
		case "name":
			r.Name = unquote(v)
		case "id":
			id = unquote(v)
		case "automatic":
			members(v, func(k, v []byte) bool {
				if string(k) == "ohai_time" && isNumber(v) {
					r.Ohai = string(v)
					return false
				}
				return true
			})
		}
		return true
	})
	if r.Name == "" {
		// Data bag items as some servers return them: raw items with an id.
		r.Name = id
	}
	return r
}

// partialRow reads {"url": .., "data": {..}}, takes Shearch's own keys out
// of data and keeps the rest as it came.
func partialRow(raw json.RawMessage) Row {
	var r Row
	var u []byte
	var top string
	members(raw, func(k, v []byte) bool {
		switch string(k) {
		case "name":
			top = unquote(v) // a server that ignored the partial body

		case "url":
			u = v
		case "data":
			r.Data = stripOwnKeys(v, &r)
		}
		return true
	})
	if r.Data == nil {
		r.Data = json.RawMessage("{}")
	}
	if r.Name == "" && len(u) == 0 {
		r.Name = top
	}
	if r.Name == "" && len(u) > 0 {
		if pu, err := url.Parse(unquote(u)); err == nil {
			r.Name = path.Base(pu.Path)
		}
	}
	return r
}

// stripOwnKeys copies a partial-search hash without nameKey and ohaiKey,
// reading their values into r.
func stripOwnKeys(obj []byte, r *Row) json.RawMessage {
	if len(obj) == 0 || obj[0] != '{' {
		return nil
	}
	out := make([]byte, 0, len(obj))
	out = append(out, '{')
	first := true
	members(obj, func(k, v []byte) bool {
		switch string(k) {
		case nameKey:
			r.Name = unquote(v)
			return true
		case ohaiKey:
			if isNumber(v) {
				r.Ohai = string(v)
			}
			return true
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		if bytes.ContainsAny(k, "\"\\") || bytes.ContainsFunc(k, func(r rune) bool { return r < ' ' }) {
			q, _ := json.Marshal(string(k))
			out = append(out, q...)
		} else {
			out = append(out, '"')
			out = append(out, k...)
			out = append(out, '"')
		}
		out = append(out, ':')
		out = append(out, v...)
		return true
	})
	return append(out, '}')
}

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
	if !json.Valid(raw) || len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil, fmt.Errorf("shard %s: the list at %s is not a JSON object", c.Shard.Name, p)
	}
	var names []string
	members(raw, func(k, _ []byte) bool {
		names = append(names, string(k))
		return true
	})
	return names, nil
}
