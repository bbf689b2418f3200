package shards

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"unsafe"
)

// nextPartial reads the partial-search row that starts at the next byte
// (as peek left it, a '{').
//
// Most rows lie whole in the reader's buffer and are read there in one
// pass that checks the JSON, finds the name and ohai_time and copies the
// hash without Shearch's keys. Found with value, checked with validJSON
// and then taken apart with members, a row was scanned four times: with
// 4,000 rows of a 20-row page over 8 shards, that was most of Shearch's
// CPU past the slowest shard (BenchmarkDecodeRows/partial-1000: 810-860
// ns a row before, 400-435 ns after; BENCHMARKS.md, issue 19). A row cut by the buffer's
// end, or one that fails, is brought whole by value and read again, so a
// bad row is told apart from a cut one.
func (s *scanner) nextPartial() (Row, error) {
	chunk, _ := s.r.Peek(s.r.Buffered())
	if r, end, ok := s.partialRow(chunk); ok {
		s.pending = end
		return r, nil
	}
	raw, err := s.value()
	if err != nil {
		return Row{}, err
	}
	r, end, ok := s.partialRow(raw)
	if !ok || end != len(raw) {
		return Row{}, errors.New("a row is not valid JSON")
	}
	return r, nil
}

// partialRow reads {"url": .., "data": {..}} at the start of b, takes
// Shearch's own keys out of data and keeps the rest as it came. ok is
// false unless b starts with a whole object that is valid JSON (what
// encoding/json.Valid says of it: the grammar is validValue's); end is
// the index just past it. b may be the reader's buffer: the row copies
// what it keeps.
//
// A partial row is small (a node's name and ipaddress: about 100 bytes),
// so its allocations, not its bytes, were its cost: the stripped hash,
// the name and ohai_time are one allocation, the hash first and the two
// strings after it. The strings are made with unsafe.String over bytes
// that nothing else references (Data's capacity ends before them, so even
// an append to Data cannot reach them) and that are never written after
// the row is built; a string conversion would be one more allocation and
// copy a row, and rows are most of what a search allocates. Either string
// keeps the whole allocation alive, which is the row's own size.
func (s *scanner) partialRow(b []byte) (_ Row, end int, ok bool) {
	var u, top, name, ohai []byte
	stripped := false
	data := s.strip[:0]
	if len(b) == 0 || b[0] != '{' {
		return Row{}, 0, false
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			k := i
			if i >= len(b) || b[i] != '"' {
				return Row{}, i, false
			}
			if i, ok = validString(b, i); !ok {
				return Row{}, i, false
			}
			key := b[k:i]
			if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
				return Row{}, i, false
			}
			v := skipSpace(b, i+1)
			switch keyName(key) {
			case "data":
				// Several "data" keys: the last one counts, as for
				// encoding/json.
				if v < len(b) && b[v] == '{' {
					data, name, ohai = data[:0], nil, nil
					data, name, ohai, i, ok = appendStripped(data, b, v)
					stripped = true
				} else {
					i, ok = validValue(b, v, 1)
					name, ohai, stripped = nil, nil, false
				}
			default:
				i, ok = validValue(b, v, 1)
				switch keyName(key) {
				case "name":
					top = b[v:i] // a server that ignored the partial body
				case "url":
					u = b[v:i]
				}
			}
			if !ok {
				return Row{}, i, false
			}
			if i = skipSpace(b, i); i >= len(b) {
				return Row{}, i, false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return Row{}, i, false
			}
			i = skipSpace(b, i+1)
		}
	}
	if !stripped {
		data = append(data[:0], "{}"...)
	}
	s.strip = data[:0]
	return partialFields(data, u, top, name, ohai), i, true
}

// partialFields builds a partial row from its stripped hash and the raw
// values of its url, top-level name, and Shearch's name and ohai_time.
func partialFields(data, u, top, name, ohai []byte) Row {
	nameText := rawString(name)
	if len(nameText) == 0 {
		// Escapes in the name, or no name in the hash (a server that
		// ignored the partial body): rare, so not worth saving on.
		n := unquote(name)
		if n == "" && len(u) == 0 {
			n = unquote(top)
		} else if n == "" {
			if pu, err := url.Parse(unquote(u)); err == nil {
				n = path.Base(pu.Path)
			}
		}
		nameText = []byte(n)
	}
	if !isNumber(ohai) {
		ohai = nil
	}
	buf := make([]byte, len(data)+len(nameText)+len(ohai))
	d := copy(buf, data)
	copy(buf[d:], nameText)
	copy(buf[d+len(nameText):], ohai)
	r := Row{Data: buf[:d:d]}
	if len(nameText) > 0 {
		r.Name = unsafe.String(&buf[d], len(nameText))
	}
	if len(ohai) > 0 {
		r.Ohai = unsafe.String(&buf[d+len(nameText)], len(ohai))
	}
	return r
}

// keyName is the text of the JSON string key (quotes included), which is
// valid: without escapes, a view of it; with them, decoded.
func keyName(key []byte) string {
	k := key[1 : len(key)-1]
	if bytes.IndexByte(k, '\\') < 0 {
		return unsafe.String(unsafe.SliceData(k), len(k))
	}
	return unquote(key)
}

// appendStripped checks the partial-search hash, the object at b[i], and
// appends it to out without nameKey and ohaiKey, whose raw values it
// returns; end is the index just past the hash. Members are copied as
// `"key":value`, without the white space between them.
func appendStripped(out, b []byte, i int) (_ []byte, name, ohai []byte, end int, ok bool) {
	out = append(out, '{')
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return append(out, '}'), nil, nil, i + 1, true
	}
	for {
		k := i
		if i >= len(b) || b[i] != '"' {
			return out, nil, nil, i, false
		}
		if i, ok = validString(b, i); !ok {
			return out, nil, nil, i, false
		}
		key := b[k:i]
		if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
			return out, nil, nil, i, false
		}
		v := skipSpace(b, i+1)
		if i, ok = validValue(b, v, 2); !ok {
			return out, nil, nil, i, false
		}
		switch kn := keyName(key); kn {
		case nameKey:
			name = b[v:i]
		case ohaiKey:
			ohai = b[v:i]
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			if bytes.IndexByte(key, '\\') < 0 {
				out = append(out, key...)
			} else {
				out = appendKey(out, kn)
			}
			out = append(out, ':')
			out = append(out, b[v:i]...)
		}
		if i = skipSpace(b, i); i >= len(b) {
			return out, nil, nil, i, false
		}
		if b[i] == '}' {
			return append(out, '}'), name, ohai, i + 1, true
		}
		if b[i] != ',' {
			return out, nil, nil, i, false
		}
		i = skipSpace(b, i+1)
	}
}

// appendKey appends a decoded key that had escapes, quoted again: as it
// was when members decoded every key, so answers stay byte for byte.
func appendKey(out []byte, k string) []byte {
	if bytes.ContainsAny([]byte(k), "\"\\") || bytes.ContainsFunc([]byte(k), func(r rune) bool { return r < ' ' }) {
		q, _ := json.Marshal(k)
		return append(out, q...)
	}
	out = append(out, '"')
	out = append(out, k...)
	return append(out, '"')
}
