package fallback

import "testing"

// Filters that differ only in where a meta key ends and its value (or
// the next entry) begins are two cache entries.
func TestFilterKeysDoNotCollide(t *testing.T) {
	for _, pair := range [][2]filter{
		{{meta: map[string]string{"a\x00b": "c"}}, {meta: map[string]string{"a": "b\x00c"}}},
		{{meta: map[string]string{"a": "b\x01m\x00c\x00d"}}, {meta: map[string]string{"a": "b", "c": "d"}}},
		{{tags: []string{"x\x01t\x00y"}}, {tags: []string{"x", "y"}}},
	} {
		if pair[0].key() == pair[1].key() {
			t.Errorf("filters %+v and %+v share the cache key %q", pair[0], pair[1], pair[0].key())
		}
	}
	a := filter{meta: map[string]string{"a": "1", "b": "2"}, tags: []string{"y", "x"}}
	b := filter{meta: map[string]string{"b": "2", "a": "1"}, tags: []string{"x", "y"}}
	if a.key() != b.key() {
		t.Errorf("equal filters have two keys: %q and %q", a.key(), b.key())
	}
}
