package knife

import (
	"sort"
	"strings"
)

// Object is a hash whose key order matters: Chef objects serialise their
// top-level keys in a fixed order per type, and knife's interchange
// documents ({"results", "rows"}) are built in code order. Plain
// map[string]any values are always emitted with sorted keys, which is the
// order goiardi (a Go server) returns them in.
type Object []Field

// Field is one key/value pair of an Object.
type Field struct {
	Key   string
	Value any
}

// Get returns the value under key and whether it is present.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// nilKey stands for a Ruby nil used as a hash key: knife uses
// item["__display_name"] as the heading of a partial-search row, and that is
// nil when `-f` did not ask for the name.
const nilKey = "\x00nil"

func keyText(k string) string {
	if k == nilKey {
		return ""
	}
	return k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Text is knife's TextFormatter (`-F text`, and every summary that is not a
// node): hash keys sorted, scalar values aligned one column past the
// longest key of their level, nested values on their own lines indented by
// two, a one-scalar array collapsed onto its key's line, nil printed as an
// empty value after "key: " (trailing space kept), empty hashes and arrays
// as a bare "key:". Chef objects are first turned into the hash knife shows
// for them (Node#display_hash, Role#to_hash, ...).
func Text(v any) []byte {
	if o, ok := v.(chefObject); ok {
		v = o.displayHash()
	}
	return []byte(textFormat(v))
}

func textFormat(data any) string {
	var b strings.Builder
	switch x := data.(type) {
	case map[string]any:
		keys := sortedKeys(x)
		fields := make(Object, len(keys))
		for i, k := range keys {
			fields[i] = Field{k, x[k]}
		}
		textHash(&b, fields)
	case Object:
		fields := append(Object(nil), x...)
		sort.SliceStable(fields, func(i, j int) bool { return keyText(fields[i].Key) < keyText(fields[j].Key) })
		textHash(&b, fields)
	case []any:
		for i, item := range x {
			b.WriteString(textFormat(item))
			if !isSingleton(item) && i != len(x)-1 {
				b.WriteString("\n")
			}
		}
	case []string:
		for _, item := range x {
			b.WriteString(item + "\n")
		}
	case chefObject:
		// Ruby only converts the top level; nested objects print as their
		// display hash too, which is the closest reading for the cases
		// knife actually reaches.
		b.WriteString(textFormat(x.displayHash()))
	default:
		b.WriteString(rubyToS(data) + "\n")
	}
	return b.String()
}

// textHash writes fields already in Ruby's sort order.
func textHash(b *strings.Builder, fields Object) {
	width := 0
	for _, f := range fields {
		if n := len([]rune(keyText(f.Key))); n > width {
			width = n
		}
	}
	width++
	for _, f := range fields {
		value := f.Value
		if arr := asArray(value); arr != nil && len(arr) == 1 && isSingleton(arr[0]) {
			value = arr[0]
		}
		key := keyText(f.Key) + ":"
		if isSingleton(value) {
			if pad := width - len([]rune(key)); pad > 0 {
				key += strings.Repeat(" ", pad)
			}
			b.WriteString(key + " " + rubyToS(value) + "\n")
			continue
		}
		b.WriteString(key + "\n")
		for _, line := range rubySplitLines(textFormat(value)) {
			b.WriteString("  " + line + "\n")
		}
	}
}

// asArray returns v as a generic array when it is one.
func asArray(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []string:
		return rubyArray(x)
	}
	return nil
}

// isSingleton mirrors TextFormatter#is_singleton: anything that is neither an
// Array nor responds to #keys. A RunList is neither, so it prints joined.
func isSingleton(v any) bool {
	switch v.(type) {
	case map[string]any, Object, []any, []string, chefObject:
		return false
	}
	return true
}
