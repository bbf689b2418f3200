package writes

import (
	"hash/fnv"
	"sort"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// PickShard chooses the shard a new node joins, as the Route53 weighted set
// would spread bootstraps: in proportion to the weights. The choice is a
// function of the name alone (FNV-1a 64 of the name, modulo the total
// weight, walked over the cumulative weights in shard-name order), so
// retrying the same create lands on the same shard. A weight-0 shard is
// never picked. A shard without a weight (listed statically, or found in
// Consul only) counts as weight 1: it was put in the stack to be used.
func PickShard(name string, candidates []shards.Shard) (shards.Shard, error) {
	list := append([]shards.Shard(nil), candidates...)
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	var total uint64
	for _, s := range list {
		total += weightOf(s)
	}
	if total == 0 {
		return shards.Shard{}, fault.Errorf(fault.Unavailable,
			"every shard of the stack has weight 0, so none takes new nodes: raise a shard's weight in the Route53 weighted set")
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	point := h.Sum64() % total
	for _, s := range list {
		w := weightOf(s)
		if point < w {
			return s, nil
		}
		point -= w
	}
	return list[len(list)-1], nil // unreachable: point < total
}

func weightOf(s shards.Shard) uint64 {
	if s.Weight == nil {
		return 1
	}
	if *s.Weight <= 0 {
		return 0
	}
	return uint64(*s.Weight)
}
