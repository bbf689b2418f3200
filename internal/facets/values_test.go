package facets

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shearch/shearch/search/result"
)

// A row's group is its shard for by=shard, else the group attribute's
// text as facets count it: one group per row, "" for none.
func TestGroupOf(t *testing.T) {
	row := result.Row{Shard: "chef-2"}
	for _, c := range []struct {
		by   string
		data map[string]any
		want string
	}{
		{"shard", map[string]any{"shard": "x"}, "chef-2"},
		{"chef_environment", map[string]any{"chef_environment": "prod"}, "prod"},
		{"tags", map[string]any{"tags": []any{"a", "b"}}, `["a","b"]`},
		{"cpu.total", map[string]any{"cpu.total": json.Number("4")}, "4"},
		{"chef_environment", map[string]any{}, ""},
	} {
		if got := GroupOf(c.by, row, c.data); got != c.want {
			t.Errorf("GroupOf(%s, %v) = %q, want %q", c.by, c.data, got, c.want)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	got := clip(long, 255)
	if !utf8.ValidString(got) || len(got) > 255+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("clip: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if clip("17.10.0", 256) != "17.10.0" {
		t.Error("a short value was clipped")
	}
	if ohaiOf(json.Number("1700000000.5"), "") != 1700000000.5 || ohaiOf(nil, "12") != 12 || ohaiOf(nil, "") != 0 {
		t.Error("ohaiOf")
	}
}

// A node sets its own attributes: a rollout attribute holding 100,000
// distinct values is joined in one allocation, not one per value (which
// copied the growing text each time, quadratic in a node's size: seconds
// of CPU per node per rollout request).
func TestJoinValuesLinear(t *testing.T) {
	vals := make([]string, 100000)
	for i := range vals {
		vals[i] = "v" + strings.Repeat("x", i%7)
	}
	var got string
	allocs := testing.AllocsPerRun(1, func() { got = joinValues(vals) })
	if got != strings.Join(vals, ",") {
		t.Fatal("joinValues does not join with commas")
	}
	if allocs > 2 {
		t.Fatalf("joining %d values took %.0f allocations", len(vals), allocs)
	}
}
