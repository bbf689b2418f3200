package search

import (
	"testing"
	"time"
)

// TestForgetEmptiesTheSearchCache: what writes call (through
// internal/engine) leaves no answer from before them.
func TestForgetEmptiesTheSearchCache(t *testing.T) {
	c := &Cache{TTL: time.Minute}
	c.put("k", &fullAnswer{})
	e := MustNew(Config{}, Deps{Topology: StaticShards{{Name: "a", Stack: "prod"}}, Cache: c})
	e.Forget()
	if _, ok := c.get("k"); ok {
		t.Fatal("a cached search answer survived Forget")
	}
	c.put("k", &fullAnswer{})
	if _, ok := c.get("k"); !ok {
		t.Fatal("the cache does not work after Forget")
	}
}
