// Package facets counts attribute values, and a value's rollout, over
// the engine's merged stream: it holds counts, never rows. It is built
// on a Streamer (search.Engine's Stream) and must never import the
// engine (search), shards or net/http.
package facets

import (
	"context"
	"math"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
)

// Streamer is the one thing facets need of the engine: every row of a
// search, merged and each name once, handed to emit as it comes.
type Streamer interface {
	Stream(ctx context.Context, req result.Request, begin func(result.ShardsSummary), emit func(result.Row) error) (*result.Result, error)
}

// Config is what the operator bounds facet and rollout answers by; zero
// fields take the defaults.
type Config struct {
	// MaxBytes bounds the values one request keeps
	// (search.max_facet_bytes; DefaultMaxBytes).
	MaxBytes int64
	// Rollout holds the defaults of rollout answers (search.rollout_*).
	Rollout RolloutConfig
}

// Request counts attribute values over a federated search.
type Request struct {
	result.Request
	// Attrs are attribute paths in knife's partial-search syntax, dots
	// between levels: "platform", "kernel.release".
	Attrs []string
	// MaxValues bounds the distinct values kept per attribute (default
	// DefaultMaxValues); rows past it are counted in Other.
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

// DefaultMaxBytes is search.max_facet_bytes when Config leaves MaxBytes
// zero.
const DefaultMaxBytes = 16 << 20

// MaxValueText is the longest JSON text an object (or an array inside an
// array) counts as; a longer one counts as "sha256:" and the first 16
// hex digits of its text's SHA-256, so equal objects still count
// together.
const MaxValueText = 256

// keyCost is about what a kept value costs beyond its text: its string
// header and map slot, in each of the two counts.
const keyCost = 48

// countsCost is about what one attribute's FacetCounts costs before any
// value is kept: the struct, its empty map and its slot in the group's
// map of attributes.
const countsCost = 144

func (c Config) maxBytes() int64 {
	if c.MaxBytes > 0 {
		return c.MaxBytes
	}
	return DefaultMaxBytes
}

// Bounds of a facet request.
const (
	DefaultMaxValues = 10000
	MaxAttrs         = 32
)

// Count streams the merged partial answer and counts each attribute's
// values. Only the asked attributes travel from the shards, and rows are
// counted as they are emitted, so memory holds counts rather than rows.
func Count(ctx context.Context, s Streamer, cfg Config, req Request) (*result.Facets, error) {
	if len(req.Attrs) == 0 {
		return nil, fault.Errorf(fault.BadRequest, "no attribute given: add attr=PATH, as attr=platform or attr=kernel.release")
	}
	if len(req.Attrs) > MaxAttrs {
		return nil, fault.Errorf(fault.BadRequest, "%d attributes asked: at most %d per request", len(req.Attrs), MaxAttrs)
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
		limit = DefaultMaxValues
	}
	r := req.Request
	r.Partial, r.Start, r.Rows, r.Cursor = partial, 0, 0, ""
	out := &result.Facets{Facets: newCounts(attrs), ByShard: map[string]*result.ShardFacets{}}
	fc := &counter{limit: limit, left: cfg.maxBytes()}
	res, err := s.Stream(ctx, r, nil, func(row result.Row) error {
		sf := out.ByShard[row.Shard]
		if sf == nil {
			sf = &result.ShardFacets{Facets: newCounts(attrs)}
			out.ByShard[row.Shard] = sf
		}
		sf.Total++
		data := row.Object() // a partial row: a few keys
		var group *result.ShardFacets
		if req.By != "" {
			if group = fc.group(out, GroupOf(req.By, row, data), attrs); group == nil {
				// Past the groups' bound the row still counts, in by_other.
				out.ByTruncated = true
				if out.ByOther == nil {
					out.ByOther = &result.ShardFacets{Facets: newCounts(attrs)}
				}
				group = out.ByOther
			}
			group.Total++
		}
		for _, a := range attrs {
			vals, missing := Values(data[a])
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
			out.ByShard[d.Name] = &result.ShardFacets{Facets: newCounts(attrs)}
		}
		if req.By == GroupShard && fc.group(out, d.Name, attrs) == nil {
			out.ByTruncated = true
		}
	}
	if out.Duplicates == nil {
		out.Duplicates = []result.Duplicate{}
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

func newCounts(attrs []string) map[string]*result.FacetCounts {
	m := make(map[string]*result.FacetCounts, len(attrs))
	for _, a := range attrs {
		m[a] = &result.FacetCounts{Values: map[string]int{}}
	}
	return m
}

func add(c *result.FacetCounts, v any, limit int) {
	vals, missing := Values(v)
	(&counter{limit: limit, left: math.MaxInt64}).add(c, vals, missing)
}

// counter keeps a request's values within its bounds: limit distinct
// values per count, left bytes for all of them.
type counter struct {
	limit int
	left  int64
}

// group is the counts of one value of the By attribute; nil once limit
// groups are kept or the bytes are spent (the row still counts overall).
func (fc *counter) group(out *result.Facets, value string, attrs []string) *result.ShardFacets {
	if out.By == nil {
		out.By = map[string]*result.ShardFacets{}
	}
	if g := out.By[value]; g != nil {
		return g
	}
	// A group also holds a count, with its map, for every attribute: 32
	// of them are kilobytes a group, whatever its name and values take.
	cost := int64(len(value) + keyCost + len(attrs)*countsCost)
	if len(out.By) >= fc.limit || cost > fc.left {
		return nil
	}
	fc.left -= cost
	g := &result.ShardFacets{Facets: newCounts(attrs)}
	out.By[value] = g
	return g
}

func (fc *counter) add(c *result.FacetCounts, vals []string, missing bool) {
	if missing {
		c.Missing++
		return
	}
	for _, s := range vals {
		if _, ok := c.Values[s]; ok {
			c.Values[s]++
			continue
		}
		if cost := int64(len(s) + keyCost); len(c.Values) < fc.limit && cost <= fc.left {
			fc.left -= cost
			c.Values[s] = 1
			continue
		}
		c.Other++
		c.Truncated = true
	}
}
