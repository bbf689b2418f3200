package server_test

import (
	"testing"

	"github.com/shearch/shearch/shards"
)

// pathOf builds a shard path for test set-up, failing the test on a bad name.
func pathOf(t testing.TB, kind shards.Kind, names ...string) shards.Path {
	t.Helper()
	p, err := shards.ObjectPath(kind, names...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
