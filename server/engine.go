package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/search/result"
	"github.com/shearch/shearch/shards"
)

// Engine is all the HTTP layer asks of the federated engine, so handlers
// can be tested through httptest against a fake one, with no shard
// running. *engine.Engine is the one served; each part below is one use.
type Engine interface {
	Reader
	Writer
	Operator
}

// Reader answers the read endpoints: searches, streams, facets, objects
// and the rollout views.
type Reader interface {
	Search(ctx context.Context, req search.Request) (*search.Result, error)
	Stream(ctx context.Context, req search.Request, begin func(search.ShardsSummary), emit func(search.Row) error) (*search.Result, error)
	Get(ctx context.Context, stack string, path shards.Path, deny bool) (*search.ReadResult, error)
	List(ctx context.Context, stack string, path shards.Path, deny bool) (*search.ListResult, error)
	Pins(ctx context.Context, stack string, deny bool) (*result.PinMatrix, error)
	Cookbooks(ctx context.Context, stack string, num int, deny bool) (*search.CookbookList, error)
	Cookbook(ctx context.Context, stack, name string, num int, deny bool) ([]string, search.ShardsSummary, error)
}

// Writer answers the write endpoints and the repair of drift.
type Writer interface {
	NodeWrite(ctx context.Context, stack, method, name, onlyShard string, body map[string]any) (*writes.Result, error)
	StackWrite(ctx context.Context, stack, method string, ref writes.ObjectRef, body map[string]any) (*writes.Result, error)
	PlanRepair(ctx context.Context, stack string) (*api.RepairPlan, error)
	Repair(ctx context.Context, stack string, want []api.RepairAction) (*api.RepairReport, error)
}

// Operator answers the probes, /metrics, /v1/shards and the drift report.
type Operator interface {
	// Shards lists the shards of a stack ("all" for every one).
	Shards(stack string) []shards.Shard
	Reachable(stack string) bool
	Stack(stack string) string
	Collectors() []prometheus.Collector
	ConsistencyFor(ctx context.Context, stack string, admit func() error) (*api.Consistency, error)
}

// The engine served must stay one the handlers can call.
var _ Engine = (*engine.Engine)(nil)
