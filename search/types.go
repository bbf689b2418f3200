// Package search is the federated engine: it fans a Chef query out to every
// shard of a stack, merges the answers into one global order, pages that
// order, finds duplicates and names the shards that failed.
package search

import "github.com/shearch/shearch/search/result"

// The request and answer shapes live in search/result so that clients
// need not import the engine.
type (
	Request       = result.Request
	Row           = result.Row
	ShardStatus   = result.ShardStatus
	ShardsSummary = result.ShardsSummary
	Duplicate     = result.Duplicate
	Result        = result.Result
)

// Row sources and shard statuses.
const (
	SourceChef     = result.SourceChef
	SourceConsul   = result.SourceConsul
	StatusOK       = result.StatusOK
	StatusFailed   = result.StatusFailed
	StatusFallback = result.StatusFallback
	OrderName      = result.OrderName
	OrderNone      = result.OrderNone
)
