package facets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
)

// GroupShard is the by= value that groups rows by the shard whose copy
// was kept, rather than by an attribute.
const GroupShard = "shard"

// GroupOf is the group of one row for by: its shard for by=shard, else
// the by attribute's value as facets count it (an array as its JSON
// text, so each row is in one group), "" when the row has none.
func GroupOf(by string, row result.Row, data map[string]any) string {
	if by == GroupShard {
		return row.Shard
	}
	return valueText(data[by])
}

// AttrPath splits a dotted attribute path into the segments of a
// partial-search body, refusing empty segments.
func AttrPath(attr string) ([]string, error) {
	parts := strings.Split(attr, ".")
	for _, p := range parts {
		if p == "" {
			return nil, fault.Errorf(fault.BadRequest, "attribute %q has an empty segment: write levels with single dots, as kernel.release", attr)
		}
	}
	return parts, nil
}

// PartialFor is the partial-search body asking for attrs, each under its
// own dotted path as key.
func PartialFor(attrs []string) (map[string][]string, error) {
	p := make(map[string][]string, len(attrs))
	for _, a := range attrs {
		segs, err := AttrPath(a)
		if err != nil {
			return nil, err
		}
		p[a] = segs
	}
	return p, nil
}

// Values is what one row's attribute value counts as: a string as
// itself, a number or boolean as its JSON text, an object as its JSON
// text (keys sorted; past MaxValueText, its digest), and each distinct
// element of an array once. Null (Chef's answer for an absent path) is
// missing.
func Values(v any) (vals []string, missing bool) {
	if v == nil {
		return nil, true
	}
	arr, ok := v.([]any)
	if !ok {
		return []string{valueText(v)}, false
	}
	seen := make(map[string]bool, len(arr))
	for _, el := range arr {
		s := valueText(el)
		if !seen[s] {
			seen[s] = true
			vals = append(vals, s)
		}
	}
	return vals, false
}

// valueText is CellText, but an object or array whose text passes
// MaxValueText is its digest.
func valueText(v any) string {
	s := CellText(v)
	switch v.(type) {
	case map[string]any, []any:
		if len(s) > MaxValueText {
			sum := sha256.Sum256([]byte(s))
			return "sha256:" + hex.EncodeToString(sum[:8])
		}
	}
	return s
}

// CellText renders one value as text for a table cell or a CSV field:
// strings as is, null as empty, anything else as its JSON text.
func CellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	// Unescaped: the text is data for a cell, not HTML; the page escapes
	// it when it shows it.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}
