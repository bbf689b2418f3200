package search_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/search"
)

// Two partial searches that differ only in where a key ends and its path
// begins ({"a=b": ["c"]} and {"a": ["b=c"]}) are two requests: with the
// cache on, the second gets its own answer, not the first one's.
func TestPartialCacheKeysDoNotCollide(t *testing.T) {
	n := node("node-1", "prod", "web", "1")
	n["normal"] = map[string]any{"c": "value of c", "b=c": "value of b=c", "b\x01c": "value of b\\x01c"}
	f := startFleet(t, 0, []devfleet.Object{n})
	f.engine.Cache = &search.Cache{TTL: time.Minute, Size: 16}
	ask := func(partial map[string][]string) string {
		t.Helper()
		res, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*", Partial: partial})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 1 {
			t.Fatalf("partial %v: %d rows", partial, len(res.Rows))
		}
		b, _ := json.Marshal(res.Rows[0].Object())
		return string(b)
	}
	for _, pair := range [][2]map[string][]string{
		{{"a=b": {"c"}}, {"a": {"b=c"}}},
		{{"a": {"b", "c"}}, {"a": {"b\x01c"}}},
		{{"a": {"c"}, "b": {"c"}}, {"a": {"c"}}},
	} {
		first, second := ask(pair[0]), ask(pair[1])
		if first == second {
			t.Fatalf("partial %q and %q share an answer: %s", pair[0], pair[1], first)
		}
		if again := ask(pair[0]); again != first {
			t.Fatalf("partial %q asked again: %s, then %s", pair[0], first, again)
		}
	}
}
