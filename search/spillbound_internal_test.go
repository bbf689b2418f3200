package search

import (
	"fmt"
	"strings"
	"testing"
)

// search.spill_max_bytes bounds what one request writes to
// search.spill_dir (and takes of search.spill_total_bytes): the run that
// would pass it is refused before it is written, not found too large
// once it is on disk.
func TestSpillStopsAtItsBound(t *testing.T) {
	e := &Engine{SortBytes: 4096, SpillBytes: 1000, SpillDir: t.TempDir()}
	s := e.newSorter()
	defer s.close()
	data := []byte(`{"v":"` + strings.Repeat("x", 200) + `"}`)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.add(Row{Name: fmt.Sprintf("n%03d", i), Shard: "chef-1", Data: data})
	}
	if err == nil || !strings.Contains(err.Error(), "search.spill_max_bytes") {
		t.Fatalf("err %v", err)
	}
	if s.spilled > s.maxSpilled || s.reserved > s.maxSpilled {
		t.Fatalf("%d bytes written and %d taken of the shared budget for a request bounded to %d", s.spilled, s.reserved, s.maxSpilled)
	}
}
