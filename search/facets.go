package search

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
)

// FacetRequest counts attribute values over a federated search.
type FacetRequest struct {
	Request
	// Attrs are attribute paths in knife's partial-search syntax, dots
	// between levels: "platform", "kernel.release".
	Attrs []string
	// MaxValues bounds the distinct values kept per attribute (default
	// DefaultFacetMaxValues); rows past it are counted in Other.
	MaxValues int
	// By, when set, also counts the attributes per value of this
	// attribute (Facets.By); its values count against MaxValues and
	// search.max_facet_bytes too.
	By string
}

// Facets kept every distinct value's whole text, overall and by shard,
// for up to 32 attributes: attr=automatic made each node's whole subtree
// a value. The values one request keeps are bounded in bytes
// (search.max_facet_bytes; values past it count in Other, as past
// MaxValues), each value's text is kept once for both counts, and a long
// object counts by its digest.

// DefaultMaxFacetBytes is search.max_facet_bytes when the Engine leaves
// MaxFacetBytes zero.
const DefaultMaxFacetBytes = 16 << 20

// MaxFacetValueText is the longest JSON text an object (or an array
// inside an array) counts as; a longer one counts as "sha256:" and the
// first 16 hex digits of its text's SHA-256, so equal objects still count
// together.
const MaxFacetValueText = 256

// facetKeyCost is about what a kept value costs beyond its text: its
// string header and map slot, in each of the two counts.
const facetKeyCost = 48

// facetCountsCost is about what one attribute's FacetCounts costs before
// any value is kept: the struct, its empty map and its slot in the
// group's map of attributes.
const facetCountsCost = 144

func (e *Engine) maxFacetBytes() int64 {
	if e.MaxFacetBytes > 0 {
		return e.MaxFacetBytes
	}
	return DefaultMaxFacetBytes
}

// Bounds of a facet request.
const (
	DefaultFacetMaxValues = 10000
	MaxFacetAttrs         = 32
)

// The facet shapes live in search/result, with the other answers.
type (
	FacetCounts = result.FacetCounts
	ShardFacets = result.ShardFacets
	Facets      = result.Facets
)

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

// Facets streams the merged partial answer and counts each attribute's
// values. Only the asked attributes travel from the shards, and rows are
// counted as they are emitted, so memory holds counts rather than rows.
func (e *Engine) Facets(ctx context.Context, req FacetRequest) (*Facets, error) {
	if len(req.Attrs) == 0 {
		return nil, fault.Errorf(fault.BadRequest, "no attribute given: add attr=PATH, as attr=platform or attr=kernel.release")
	}
	if len(req.Attrs) > MaxFacetAttrs {
		return nil, fault.Errorf(fault.BadRequest, "%d attributes asked: at most %d per request", len(req.Attrs), MaxFacetAttrs)
	}
	attrs := dedupe(req.Attrs)
	asked := attrs
	if req.By != "" && req.By != GroupShard {
		asked = dedupe(append(append([]string{}, attrs...), req.By))
	}
	partial, err := PartialFor(asked)
	if err != nil {
		return nil, err
	}
	limit := req.MaxValues
	if limit <= 0 {
		limit = DefaultFacetMaxValues
	}
	r := req.Request
	r.Partial, r.Start, r.Rows, r.Cursor = partial, 0, 0, ""
	out := &Facets{Facets: newCounts(attrs), ByShard: map[string]*ShardFacets{}}
	fc := &facetCounter{limit: limit, left: e.maxFacetBytes()}
	res, err := e.Stream(ctx, r, nil, func(row Row) error {
		sf := out.ByShard[row.Shard]
		if sf == nil {
			sf = &ShardFacets{Facets: newCounts(attrs)}
			out.ByShard[row.Shard] = sf
		}
		sf.Total++
		data := row.Object() // a partial row: a few keys
		var group *ShardFacets
		if req.By != "" {
			if group = fc.group(out, GroupOf(req.By, row, data), attrs); group == nil {
				// Past the groups' bound the row still counts, in by_other.
				out.ByTruncated = true
				if out.ByOther == nil {
					out.ByOther = &ShardFacets{Facets: newCounts(attrs)}
				}
				group = out.ByOther
			}
			group.Total++
		}
		for _, a := range attrs {
			vals, missing := FacetValues(data[a])
			fc.add(out.Facets[a], vals, missing)
			fc.add(sf.Facets[a], vals, missing)
			if group != nil {
				fc.add(group.Facets[a], vals, missing)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Total, out.Shards, out.Duplicates, out.Cached = res.Total, res.Shards, res.Duplicates, res.Cached
	// Every shard asked has an entry, so one that matched nothing (or
	// failed) shows as zero rather than not at all.
	for _, d := range res.Shards.Details {
		if out.ByShard[d.Name] == nil {
			out.ByShard[d.Name] = &ShardFacets{Facets: newCounts(attrs)}
		}
		if req.By == GroupShard && fc.group(out, d.Name, attrs) == nil {
			out.ByTruncated = true
		}
	}
	if out.Duplicates == nil {
		out.Duplicates = []Duplicate{}
	}
	return out, nil
}

func dedupe(attrs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range attrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func newCounts(attrs []string) map[string]*FacetCounts {
	m := make(map[string]*FacetCounts, len(attrs))
	for _, a := range attrs {
		m[a] = &FacetCounts{Values: map[string]int{}}
	}
	return m
}

func add(c *FacetCounts, v any, limit int) {
	vals, missing := FacetValues(v)
	(&facetCounter{limit: limit, left: math.MaxInt64}).add(c, vals, missing)
}

// facetCounter keeps a request's values within its bounds: limit
// distinct values per count, left bytes for all of them.
type facetCounter struct {
	limit int
	left  int64
}

// group is the counts of one value of the By attribute; nil once limit
// groups are kept or the bytes are spent (the row still counts overall).
func (fc *facetCounter) group(out *Facets, value string, attrs []string) *ShardFacets {
	if out.By == nil {
		out.By = map[string]*ShardFacets{}
	}
	if g := out.By[value]; g != nil {
		return g
	}
	// A group also holds a count, with its map, for every attribute: 32
	// of them are kilobytes a group, whatever its name and values take.
	cost := int64(len(value) + facetKeyCost + len(attrs)*facetCountsCost)
	if len(out.By) >= fc.limit || cost > fc.left {
		return nil
	}
	fc.left -= cost
	g := &ShardFacets{Facets: newCounts(attrs)}
	out.By[value] = g
	return g
}

func (fc *facetCounter) add(c *FacetCounts, vals []string, missing bool) {
	if missing {
		c.Missing++
		return
	}
	for _, s := range vals {
		if _, ok := c.Values[s]; ok {
			c.Values[s]++
			continue
		}
		if cost := int64(len(s) + facetKeyCost); len(c.Values) < fc.limit && cost <= fc.left {
			fc.left -= cost
			c.Values[s] = 1
			continue
		}
		c.Other++
		c.Truncated = true
	}
}

// FacetValues is what one row's attribute value counts as: a string as
// itself, a number or boolean as its JSON text, an object as its JSON
// text (keys sorted; past MaxFacetValueText, its digest), and each
// distinct element of an array once. Null (Chef's answer for an absent
// path) is missing.
func FacetValues(v any) (vals []string, missing bool) {
	if v == nil {
		return nil, true
	}
	arr, ok := v.([]any)
	if !ok {
		return []string{facetText(v)}, false
	}
	seen := make(map[string]bool, len(arr))
	for _, el := range arr {
		s := facetText(el)
		if !seen[s] {
			seen[s] = true
			vals = append(vals, s)
		}
	}
	return vals, false
}

// facetText is CellText, but an object or array whose text passes
// MaxFacetValueText is its digest.
func facetText(v any) string {
	s := CellText(v)
	switch v.(type) {
	case map[string]any, []any:
		if len(s) > MaxFacetValueText {
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
