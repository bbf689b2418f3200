package search

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// An order gives back exactly the rows put in it, across chunk
// boundaries and for rows bigger than a chunk, and its rows' data cannot
// be grown into its neighbour's bytes.
func TestOrderKeepsRows(t *testing.T) {
	if s := unsafe.Sizeof(orderEnt{}); s != 16 {
		t.Fatalf("an order entry is %d bytes, want 16", s)
	}
	b := newOrderBuilder(0, 0)
	var want []Row
	for i := 0; i < 3000; i++ {
		r := Row{Name: fmt.Sprintf("n%05d", i), Shard: fmt.Sprintf("s%d", i%3), Source: SourceChef}
		switch {
		case i%7 == 0:
			// names only
		case i == 1500:
			r.Data = []byte(`{"big":"` + strings.Repeat("x", 3*orderChunk) + `"}`)
		default:
			r.Data = []byte(fmt.Sprintf(`{"i":%d}`, i))
		}
		if i == 42 {
			r.Source, r.URL = SourceConsul, "http://consul/n00042"
		}
		if err := b.add(r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	o := b.done()
	if o.len() != len(want) || len(o.chunks) < 2 {
		t.Fatalf("%d rows in %d chunks", o.len(), len(o.chunks))
	}
	got := o.rows(0, o.len())
	for i, r := range got {
		w := want[i]
		if r.Name != w.Name || r.Shard != w.Shard || r.Source != w.Source || r.URL != w.URL || !bytes.Equal(r.Data, w.Data) || (len(w.Data) == 0) != (r.Data == nil) {
			t.Fatalf("row %d: got %+v, want %+v", i, r.Name, w.Name)
		}
	}
	d := got[1].Data
	_ = append(d, "garbage"...)
	if o.name(2) != "n00002" {
		t.Fatalf("an append to a row's data reached the next row: %q", o.name(2))
	}
	if !o.has("n02999") || o.has("n03000") || o.after("n00009") != 10 {
		t.Fatal("has/after disagree with the rows")
	}
	if err := (&orderBuilder{o: &order{}, shardIx: map[string]uint16{}, limit: 100}).add(Row{Name: "x", Data: make([]byte, 200)}); err == nil || !strings.Contains(err.Error(), "shards.max_answer_bytes") {
		t.Fatalf("past the bound: %v", err)
	}
}
