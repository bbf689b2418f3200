package search

import (
	"fmt"
	"strings"
	"testing"
)

// The order's bound (shards.max_answer_bytes) counts the rows' bytes; what
// it holds is its chunks' capacity. Rows just over half a chunk leave each
// chunk half empty, so the memory held is about twice the bound.
func TestOrderChunksWithinBound(t *testing.T) {
	const limit = 8 << 20
	b := newOrderBuilder(limit, 0)
	data := `"` + strings.Repeat("x", orderChunk/2) + `"`
	for i := 0; ; i++ {
		if err := b.add(Row{Name: fmt.Sprintf("n%05d", i), Shard: "s0", Source: SourceChef, Data: []byte(data)}); err != nil {
			break
		}
	}
	o := b.done()
	held := 0
	for _, c := range o.chunks {
		held += cap(c)
	}
	t.Logf("rows' bytes %d, chunks hold %d, size() %d", o.bytes, held, o.size())
	if held > limit*5/4 {
		t.Fatalf("an order bounded at %d bytes holds %d in its chunks (size() says %d)", limit, held, o.size())
	}
}
