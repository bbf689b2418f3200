package search

import "github.com/shearch/shearch/query"

// matchesAll says whether a query matches every object (`*:*`): its
// answer then holds every copy of every node with its ohai_time, so the
// merge alone picks the newest copy and the separate lookup of the nodes
// several shards hold (a second search of every shard's whole index) is
// not needed. That lookup was half the shards' work for
// `gnife search node '*:*' -i`.
func matchesAll(q string) bool {
	if q == "*:*" {
		return true
	}
	pq, err := query.Parse(q)
	return err == nil && pq.IsMatchAll()
}
