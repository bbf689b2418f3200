package search

import "github.com/shearch/shearch/shards"

// Shards lists the shards of stack ("all" for every one) as the topology
// knows them now, for the HTTP layer's /v1/shards and /readyz.
func (e *Engine) Shards(stack string) []shards.Shard { return e.Topology.Shards(stack) }
