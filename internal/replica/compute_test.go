package replica

import "testing"

// Shares sum to the totals over the passing replicas, each at least 1; a
// replica not passing yet counts itself in.
func TestCompute(t *testing.T) {
	for _, c := range []struct {
		total    int
		passing  []string
		want     map[string]int
		replicas int
	}{
		{4, []string{"a", "b"}, map[string]int{"a": 2, "b": 2}, 2},
		{16, []string{"a", "b", "c"}, map[string]int{"a": 6, "b": 5, "c": 5}, 3},
		{4, []string{"a"}, map[string]int{"a": 4}, 1},
		{2, []string{"a", "b", "c"}, map[string]int{"a": 1, "b": 1, "c": 1}, 3},
	} {
		sum := 0
		for id, want := range c.want {
			sh := Compute(c.total, c.total*2, c.passing, id)
			if sh.InFlight != want || sh.Replicas != c.replicas {
				t.Errorf("total %d over %v: %s got %+v, want %d slots of %d replicas", c.total, c.passing, id, sh, want, c.replicas)
			}
			sum += sh.InFlight
		}
		if sum > max(c.total, len(c.passing)) {
			t.Errorf("total %d over %v: shares sum to %d", c.total, c.passing, sum)
		}
	}
	// Not passing yet: "b" takes 1, a and c share the bound.
	if sh := Compute(6, 6, []string{"a", "c"}, "b"); sh.InFlight != 1 || sh.Waiting != 1 || sh.Replicas != 2 {
		t.Errorf("a replica not passing beside 2 passing ones: %+v, want 1 slot", sh)
	}
	if sh := Compute(6, 6, nil, "a"); sh.InFlight != 1 || sh.Replicas != 0 {
		t.Errorf("a replica not passing, alone: %+v, want 1 slot", sh)
	}
}
