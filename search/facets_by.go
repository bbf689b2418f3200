package search

// GroupShard is the by= value that groups rows by the shard whose copy
// was kept, rather than by an attribute.
const GroupShard = "shard"

// GroupOf is the group of one row for by: its shard for by=shard, else
// the by attribute's value as facets count it (an array as its JSON
// text, so each row is in one group), "" when the row has none.
func GroupOf(by string, row Row, data map[string]any) string {
	if by == GroupShard {
		return row.Shard
	}
	return facetText(data[by])
}
