package search

import (
	"testing"
	"time"
)

// TestForgetAnswersEmptiesTheSearchCache: what writes call (through
// internal/engine) leaves no answer from before them.
func TestForgetAnswersEmptiesTheSearchCache(t *testing.T) {
	c := &Cache{TTL: time.Minute}
	c.put("k", &fullAnswer{})
	e := MustNew(Config{}, Deps{Topology: StaticShards{{Name: "a", Stack: "prod"}}, Cache: c})
	e.ForgetAnswers()
	if _, ok := c.get("k"); ok {
		t.Fatal("a cached search answer survived ForgetAnswers")
	}
	c.put("k", &fullAnswer{})
	if _, ok := c.get("k"); !ok {
		t.Fatal("the cache does not work after ForgetAnswers")
	}
}
