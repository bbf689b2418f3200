package result

import "sort"

// FacetCounts are the counts of one attribute.
type FacetCounts struct {
	// Values maps each value's text to the number of rows holding it.
	Values map[string]int `json:"values"`
	// Missing counts rows where the attribute is absent (or null: Chef's
	// partial search answers both the same way).
	Missing int `json:"missing"`
	// Other counts values that were not kept once MaxValues distinct
	// values were known; Truncated says that happened.
	Other     int  `json:"other,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
}

// ShardFacets are the counts of the rows one shard contributed to the
// merged answer (after duplicates were dropped).
type ShardFacets struct {
	Total  int                     `json:"total"`
	Facets map[string]*FacetCounts `json:"facets"`
}

// Facets is the answer of a facet request.
type Facets struct {
	Total      int                     `json:"total"`
	Facets     map[string]*FacetCounts `json:"facets"`
	ByShard    map[string]*ShardFacets `json:"by_shard"`
	Shards     ShardsSummary           `json:"shards"`
	Duplicates []Duplicate             `json:"duplicates"`
	Cached     bool                    `json:"cached,omitempty"`
}

// SortedValues lists a facet's values by count, highest first, then by
// value.
func (c *FacetCounts) SortedValues() []string {
	out := make([]string, 0, len(c.Values))
	for v := range c.Values {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if c.Values[out[i]] != c.Values[out[j]] {
			return c.Values[out[i]] > c.Values[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}
