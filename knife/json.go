package knife

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON renders v the way knife's `-F json` does (Chef::JSONCompat.to_json_pretty
// over ffi-yajl), with the trailing newline `puts` adds:
//   - two-space indent, "key": value, UTF-8 written raw, no HTML escaping;
//   - an empty hash or array still opens a line: "{" + "\n" + "\n" + indent + "}";
//   - map[string]any keys sorted (goiardi's order), Object keys in their order;
//   - a Chef object (see Node, Role, ...) nested inside another value is
//     pasted in pre-rendered: ffi-yajl calls the object's own to_json, which
//     renders a complete pretty document (indented from column 0, ending in a
//     newline) and inserts it verbatim. That is the "rows" quirk of
//     `knife search -F json` and the run_list quirk of `knife node show -F json`.
//
// A Chef object at the top level renders clean, as knife's to_json_pretty does.
func JSON(v any) []byte {
	if o, ok := v.(chefObject); ok {
		v = o.forJSON()
	}
	var g yajl
	g.value(v, 0)
	g.buf = append(g.buf, '\n')
	return g.buf
}

// PreRendered is JSON text that the encoder pastes in verbatim where a value
// belongs, as ffi-yajl does with whatever an object's to_json returned.
type PreRendered string

// preRender is what an object's own to_json returns inside another document:
// a full pretty document that keeps its final newline (only the outermost
// to_json_pretty chomps).
func preRender(v any) PreRendered {
	var g yajl
	g.value(v, 0)
	return PreRendered(append(g.buf, '\n'))
}

type yajl struct{ buf []byte }

func (g *yajl) indent(depth int) {
	for i := 0; i < depth; i++ {
		g.buf = append(g.buf, ' ', ' ')
	}
}

func (g *yajl) value(v any, depth int) {
	switch x := v.(type) {
	case nil:
		g.buf = append(g.buf, "null"...)
	case bool:
		g.buf = strconv.AppendBool(g.buf, x)
	case string:
		g.str(x)
	case symbol:
		g.str(string(x))
	case json.Number, float64, float32, int, int64:
		g.buf = append(g.buf, rubyToS(x)...)
	case PreRendered:
		g.buf = append(g.buf, x...)
	case runList:
		// RunList is not a Hash or Array to ffi-yajl, so it goes through
		// RunList#to_json and lands pre-rendered.
		g.buf = append(g.buf, preRender(x.items())...)
	case chefObject:
		g.buf = append(g.buf, preRender(x.forJSON())...)
	case map[string]any:
		keys := sortedKeys(x)
		fields := make(Object, len(keys))
		for i, k := range keys {
			fields[i] = Field{k, x[k]}
		}
		g.object(fields, depth)
	case Object:
		g.object(x, depth)
	case []any:
		g.buf = append(g.buf, "[\n"...)
		for i, e := range x {
			if i > 0 {
				g.buf = append(g.buf, ",\n"...)
			}
			g.indent(depth + 1)
			g.value(e, depth+1)
		}
		g.buf = append(g.buf, '\n')
		g.indent(depth)
		g.buf = append(g.buf, ']')
	case []string:
		g.value(rubyArray(x), depth)
	default:
		g.str(rubyToS(x))
	}
}

func (g *yajl) object(fields Object, depth int) {
	g.buf = append(g.buf, "{\n"...)
	for i, f := range fields {
		if i > 0 {
			g.buf = append(g.buf, ",\n"...)
		}
		g.indent(depth + 1)
		g.str(keyText(f.Key))
		g.buf = append(g.buf, ": "...)
		g.value(f.Value, depth+1)
	}
	g.buf = append(g.buf, '\n')
	g.indent(depth)
	g.buf = append(g.buf, '}')
}

// str is yajl's string escaping: quote, backslash and the C escapes, other
// control characters as \u00XX (upper-case hex), everything else raw.
func (g *yajl) str(s string) {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				h := strings.ToUpper(strconv.FormatInt(int64(r), 16))
				b.WriteString(`\u` + strings.Repeat("0", 4-len(h)) + h)
			} else {
				b.WriteString(s[i : i+size])
			}
		}
		i += size
	}
	b.WriteByte('"')
	g.buf = append(g.buf, b.String()...)
}
