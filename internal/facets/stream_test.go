package facets

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shearch/shearch/search/result"
)

// fakeStream is a Streamer over rows held in memory: the engine's merged
// stream as facets see it, without a shard.
type fakeStream struct {
	rows []result.Row
	// shards are the shards the summary names, matched or not.
	shards []string
	err    error
	// asked is the request the last Stream was given.
	asked result.Request
}

func (f *fakeStream) Stream(ctx context.Context, req result.Request, begin func(result.ShardsSummary), emit func(result.Row) error) (*result.Result, error) {
	f.asked = req
	sum := result.ShardsSummary{Total: len(f.shards), OK: len(f.shards)}
	for _, s := range f.shards {
		sum.Details = append(sum.Details, result.ShardStatus{Name: s, Status: result.StatusOK})
	}
	if begin != nil {
		begin(sum)
	}
	for _, r := range f.rows {
		if err := emit(r); err != nil {
			return nil, err
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return &result.Result{Total: len(f.rows), Rows: []result.Row{}, Shards: sum}, nil
}

// partialRow is a partial-search row holding data.
func partialRow(name, shard string, data map[string]any) result.Row {
	b, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprint(name, err))
	}
	return result.Row{Name: name, Shard: shard, Source: result.SourceChef, Data: b}
}
