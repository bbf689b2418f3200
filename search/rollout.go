package search

import (
	"cmp"
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
)

// RolloutRequest asks how far a value has got over a query's nodes.
type RolloutRequest struct {
	Request
	Attr string
	Want string
	// By groups the nodes (a path, or "shard"); "" gives only the total.
	By string
	// StaleAfter is the check-in age past which a node counts as stale
	// (default DefaultStaleAfter).
	StaleAfter time.Duration
	// Lagging lists the nodes that have not reached Want, at most
	// MaxLagging of them (default DefaultMaxLagging).
	Lagging    bool
	MaxLagging int
	// MaxGroups bounds the distinct groups (default
	// DefaultFacetMaxValues); the rest count in OtherGroupName.
	MaxGroups int
	// Now is the clock staleness is measured against; zero is time.Now.
	Now time.Time
}

// The partial-search keys of a rollout's attribute and group.
const (
	rolloutAttrKey  = "__shearch_attr"
	rolloutGroupKey = "__shearch_group"
)

// RolloutConfig is the engine's rollout defaults (search.rollout_* keys);
// zero fields use DefaultStaleAfter and DefaultMaxLagging.
type RolloutConfig struct {
	StaleAfter time.Duration
	MaxLagging int
}

// Bounds and defaults of a rollout request.
const (
	DefaultStaleAfter = time.Hour
	DefaultMaxLagging = 10000
)

// Rollout streams a partial search of the attribute, the group and
// ohai_time, and counts per group the nodes holding Want. Each node counts
// once, as the copy search keeps, and memory holds counts (and the
// lagging list, bounded), never rows.
func (e *Engine) Rollout(ctx context.Context, req RolloutRequest) (*result.Rollout, error) {
	if req.Attr == "" || req.Want == "" {
		return nil, fault.Errorf(fault.BadRequest, "give attr=PATH and want=VALUE, as attr=chef_packages.chef.version&want=17.10.0")
	}
	attrSegs, err := AttrPath(req.Attr)
	if err != nil {
		return nil, err
	}
	// Keys of their own, so a group path that is also "attr" or
	// "ohai_time" asks for what it names.
	partial := map[string][]string{rolloutAttrKey: attrSegs, "ohai_time": {"ohai_time"}}
	if req.By != "" && req.By != GroupShard {
		if partial[rolloutGroupKey], err = AttrPath(req.By); err != nil {
			return nil, err
		}
	}
	stale := cmp.Or(req.StaleAfter, e.RolloutDefaults.StaleAfter, DefaultStaleAfter)
	maxLag := cmp.Or(req.MaxLagging, e.RolloutDefaults.MaxLagging, DefaultMaxLagging)
	maxGroups := req.MaxGroups
	if maxGroups <= 0 {
		maxGroups = DefaultFacetMaxValues
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	cutoff := float64(now.Unix()) - stale.Seconds()
	out := &result.Rollout{Query: req.Query, Attr: req.Attr, Want: req.Want, By: req.By,
		StaleAfterSeconds: int64(stale / time.Second), Now: now.Unix(), All: newRolloutGroup("")}
	groups := map[string]*result.RolloutGroup{}
	// Group names and each group's current values draw on the request's
	// value bytes, as facets do (search.max_facet_bytes).
	fc := &facetCounter{limit: DefaultFacetMaxValues, left: e.maxFacetBytes()}
	r := req.Request
	r.Partial, r.Start, r.Rows, r.Cursor = partial, 0, 0, ""
	res, err := e.Stream(ctx, r, nil, func(row Row) error {
		data := row.Object()
		vals, missing := FacetValues(data[rolloutAttrKey])
		reached := false
		for _, v := range vals {
			if v == req.Want {
				reached = true
			}
		}
		ohai := ohaiOf(data["ohai_time"], row.Ohai)
		isStale := ohai == 0 || ohai < cutoff
		// One group per node, as facets by= counts it: each node once.
		names := []string{""}
		if req.By != "" {
			g := row.Shard
			if req.By != GroupShard {
				g = facetText(data[rolloutGroupKey])
			}
			if g == "" {
				g = result.MissingGroupName
			}
			names[0] = g
		}
		for i, name := range names {
			if req.By != "" {
				g := groups[name]
				if g == nil {
					if cost := int64(len(name) + facetKeyCost); len(groups) >= maxGroups || cost > fc.left {
						out.OtherGroups = true
						name = result.OtherGroupName
						g = groups[name]
					}
					if g == nil {
						if name != result.OtherGroupName {
							fc.left -= int64(len(name) + facetKeyCost)
						}
						g = newRolloutGroup(name)
						groups[name] = g
					}
				}
				countNode(fc, g, vals, missing, reached, isStale)
			}
			if i == 0 {
				countNode(fc, out.All, vals, missing, reached, isStale)
			}
		}
		if !reached && req.Lagging {
			if len(out.Lagging) >= maxLag {
				out.LaggingTruncated = true
				return nil
			}
			ln := result.LaggingNode{Name: row.Name, Shard: row.Shard, Group: clip(names[0], maxLaggingValueBytes), Missing: missing, OhaiTime: ohai, Stale: isStale}
			if !missing {
				ln.Value = clip(joinValues(vals), maxLaggingValueBytes)
			}
			out.Lagging = append(out.Lagging, ln)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if req.By == GroupShard {
		for _, d := range res.Shards.Details {
			if groups[d.Name] == nil {
				groups[d.Name] = newRolloutGroup(d.Name)
			}
		}
	}
	out.Groups = make([]*result.RolloutGroup, 0, len(groups))
	for _, g := range groups {
		g.Share = shareOf(g.Reached, g.Total)
		out.Groups = append(out.Groups, g)
	}
	sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Group < out.Groups[j].Group })
	out.All.Share = shareOf(out.All.Reached, out.All.Total)
	out.Shards, out.Duplicates = res.Shards, res.Duplicates
	if out.Duplicates == nil {
		out.Duplicates = []Duplicate{}
	}
	return out, nil
}

func newRolloutGroup(name string) *result.RolloutGroup {
	return &result.RolloutGroup{Group: name, Values: map[string]int{}}
}

// maxLaggingValueBytes bounds the current value a lagging node is listed
// with: a node sets its own attributes, and the list holds up to
// max_lagging of them.
const maxLaggingValueBytes = 256

// clip cuts s to at most n bytes on a UTF-8 boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// countNode adds one node to a group. Current values are bounded like
// facet values (count and bytes); past the bound a value is not listed,
// though the node is still counted.
func countNode(fc *facetCounter, g *result.RolloutGroup, vals []string, missing, reached, stale bool) {
	g.Total++
	if reached {
		g.Reached++
	}
	if stale {
		g.Stale++
	}
	if missing {
		g.Values[""]++
		return
	}
	v := joinValues(vals)
	if _, ok := g.Values[v]; ok {
		g.Values[v]++
	} else if cost := int64(len(v) + facetKeyCost); len(g.Values) < fc.limit && cost <= fc.left {
		fc.left -= cost
		g.Values[v] = 1
	}
}

func joinValues(vals []string) string { return strings.Join(vals, ",") }

func shareOf(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// ohaiOf reads ohai_time from the partial row, else from the engine's
// own copy of it; 0 when the node never checked in.
func ohaiOf(v any, fallback string) float64 {
	var s string
	switch x := v.(type) {
	case interface{ String() string }:
		s = x.String()
	case string:
		s = x
	default:
		s = fallback
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}
