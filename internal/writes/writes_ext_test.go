package writes_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

func TestWritesGoToOneStack(t *testing.T) {
	e := writes.New(writes.Config{}, search.MustNew(search.Config{}, search.Deps{Topology: search.StaticShards{{Name: "a", Stack: "prod"}, {Name: "b", Stack: "dev"}}}), nil)
	_, err := e.StackWrite(t.Context(), "all", "PUT", writes.ObjectRef{Kind: writes.KindRole, Name: "web"}, map[string]any{})
	var se *fault.Error
	if !errors.As(err, &se) || se.Kind != fault.BadRequest || !strings.Contains(se.Message, "dev, prod") {
		t.Fatalf("a write over two stacks: %v, want a 400 naming them", err)
	}
	if _, err := e.NodeWrite(t.Context(), "", "DELETE", "web-01", "", nil); !errors.As(err, &se) || se.Kind != fault.BadRequest {
		t.Fatalf("a node write with no stack over two stacks: %v, want a 400", err)
	}
}

// TestEveryWriteRunsChanged: a write to several shards and a repair's
// change each run the hook that empties what reads and drift cached, even
// when the write fails (it may have reached a shard before failing).
func TestEveryWriteRunsChanged(t *testing.T) {
	changed := 0 // shared writes seen
	// The shard has no key file: the write fails, yet was attempted.
	list := search.StaticShards{{Name: "a", Stack: "prod"}}
	w := writes.New(writes.Config{}, search.MustNew(search.Config{}, search.Deps{Topology: list}), func(shared bool) {
		if shared {
			changed++
		}
	})
	if _, err := w.StackWrite(t.Context(), "prod", "PUT", writes.ObjectRef{Kind: writes.KindRole, Name: "web"}, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if changed != 1 {
		t.Fatalf("after a role write: changed ran %d times, want 1", changed)
	}
	outs := w.Apply(t.Context(), writes.ObjectRef{Kind: writes.KindRole, Name: "web"}, writes.Change{Update: []string{"a"}, Delete: []string{"gone"}}, map[string]any{}, map[string]shards.Shard{"a": list[0]})
	if changed != 2 || len(outs) != 2 || outs[1].Status != api.WriteFailed || outs[1].Error != "shard left the topology" {
		t.Fatalf("after a repair's change: changed ran %d times, outcomes %+v", changed, outs)
	}
}

// TestNewFillsDefaults: the owner memory's bounds default when unset.
func TestNewFillsDefaults(t *testing.T) {
	w := writes.New(writes.Config{OwnerCacheSize: 5}, search.MustNew(search.Config{}, search.Deps{Topology: search.StaticShards{}}), nil)
	if w.OwnerTTL != 30*time.Second || w.OwnerCacheSize != 5 {
		t.Fatalf("owner TTL %v, size %d; want 30s (default) and 5 (set)", w.OwnerTTL, w.OwnerCacheSize)
	}
}
