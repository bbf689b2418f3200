package search

import (
	"encoding/json"
	"math"
	"sort"
	"unsafe"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// order is a merged answer held for paging (the answer cache, and the
// order knife's later pages and cursor steps reuse). A Row is 104 bytes
// of headers plus an allocation per string; a fleet's order of them was
// most of a walk's memory at 100,000 nodes. Here every row's name and
// data sit in a few large byte chunks and each row is a 16-byte entry
// without pointers, so an order of names costs a few dozen bytes a row
// and nothing for the GC to scan.
type order struct {
	chunks  [][]byte
	ents    []orderEnt
	shards  []string // shard names, by orderEnt.shard
	sources []string // row sources, by orderEnt.src
	// urls are the rows' URLs, by index: search rows carry none.
	urls  map[int]string
	bytes int
}

type orderEnt struct {
	off uint32
	// name and data are the lengths of the row's fields, in that order
	// from off. Chef names are at most a few hundred bytes.
	data  uint32
	chunk uint16
	name  uint16
	shard uint16
	src   uint8
}

// orderChunk is the size of the byte chunks; a larger row has its own.
// Small, so that the last chunk of an order wastes little.
const orderChunk = 256 << 10

// orderBuilder appends rows, in order, to a new order.
type orderBuilder struct {
	o       *order
	shardIx map[string]uint16
	limit   int64
	cur     int // the chunk small rows go to; -1 before the first
	// most, when known, is at most how many bytes the rows to come
	// hold: a chunk is no larger than what is left of it. A 4,000-row
	// order of 290 KB took two full chunks, 512 KB a page.
	most int64
}

// newOrderBuilder starts an order of at most about hint rows (the rows
// gathered, before duplicates go), whose bytes are bounded by limit.
func newOrderBuilder(limit int64, hint int) *orderBuilder {
	if limit <= 0 {
		limit = shards.DefaultMaxAnswerBytes
	}
	// The hint counts every copy a fan-out met; the entries count
	// against the bound as the bytes do, so they are sized within it.
	o := &order{ents: make([]orderEnt, 0, min(int64(hint), limit/int64(unsafe.Sizeof(orderEnt{}))/2))}
	return &orderBuilder{o: o, shardIx: map[string]uint16{}, limit: limit, cur: -1}
}

func (b *orderBuilder) add(r Row) error { return b.addRow(&r) }

// addRow appends r, copying what the order keeps of it.
func (b *orderBuilder) addRow(r *Row) error {
	o := b.o
	need := len(r.Name) + len(r.Data)
	if len(r.Name) > math.MaxUint16 {
		return fault.Errorf(fault.ShardsFailed, "shard %s sent a row whose name is %d bytes long; Chef names are at most 255", r.Shard, len(r.Name))
	}
	if int64(o.bytes+need)+int64(len(o.ents)+1)*int64(unsafe.Sizeof(orderEnt{})) > b.limit {
		return fault.Errorf(fault.NoSpace, "the merged answer is larger than shards.max_answer_bytes (%d bytes): page a narrower query, or stream it (Accept: application/x-ndjson)", b.limit)
	}
	// A row of more than a quarter chunk has a chunk of its own, at its
	// size, and the small rows' chunk stays current: no chunk is left
	// more than a quarter empty, so the chunks hold about what the bound
	// counts.
	last := b.cur
	if need > orderChunk/4 || last < 0 || len(o.chunks[last])+need > cap(o.chunks[last]) {
		if len(o.chunks) == math.MaxUint16 {
			return fault.Errorf(fault.NoSpace, "the merged answer is too large to hold: page a narrower query, or stream it (Accept: application/x-ndjson)")
		}
		last = len(o.chunks)
		if need > orderChunk/4 {
			o.chunks = append(o.chunks, make([]byte, 0, need))
		} else {
			size := orderChunk
			if left := b.most - int64(o.bytes); left >= int64(need) && left < orderChunk {
				size = int(left)
			}
			o.chunks = append(o.chunks, make([]byte, 0, size))
			b.cur = last
		}
	}
	c := o.chunks[last]
	ent := orderEnt{chunk: uint16(last), off: uint32(len(c)), name: uint16(len(r.Name)), data: uint32(len(r.Data))}
	c = append(c, r.Name...)
	o.chunks[last] = append(c, r.Data...)
	if r.URL != "" {
		if o.urls == nil {
			o.urls = map[int]string{}
		}
		o.urls[len(o.ents)] = r.URL
	}
	s, src := b.shardOf(r.Shard), b.sourceOf(r.Source)
	ent.shard, ent.src = s, src
	o.ents = append(o.ents, ent)
	o.bytes += need
	return nil
}

// shardOf is the index of a shard's name in the order. A fleet has a
// few shards, and looking through them beat the map's hashing of a name
// a row; a large fleet has the map.
func (b *orderBuilder) shardOf(name string) uint16 {
	o := b.o
	if len(o.shards) <= fewNames {
		for i, s := range o.shards {
			if s == name {
				return uint16(i)
			}
		}
	} else if i, ok := b.shardIx[name]; ok {
		return i
	}
	i := uint16(len(o.shards))
	o.shards = append(o.shards, name)
	b.shardIx[name] = i
	return i
}

func (b *orderBuilder) sourceOf(name string) uint8 {
	o := b.o
	for i, s := range o.sources {
		if s == name {
			return uint8(i)
		}
	}
	i := uint8(len(o.sources))
	o.sources = append(o.sources, name)
	return i
}

// fewNames is how many shard names are looked through before the map.
const fewNames = 16

func (b *orderBuilder) done() *order {
	o := b.o
	o.ents = o.ents[:len(o.ents):len(o.ents)]
	return o
}

func (o *order) len() int {
	if o == nil {
		return 0
	}
	return len(o.ents)
}

// size is about the bytes the order holds, for the caches.
func (o *order) size() int {
	if o == nil {
		return 0
	}
	return o.bytes + 16*len(o.ents)
}

// name is row i's name. The chunks are never written again once a row is
// in them, so the string can share their bytes: no copy per row read.
func (o *order) name(i int) string {
	e := o.ents[i]
	if e.name == 0 {
		return ""
	}
	return unsafe.String(&o.chunks[e.chunk][e.off], int(e.name))
}

// row is row i as a Row. Its Data shares the order's bytes, capped so
// that an append copies.
func (o *order) row(i int) Row {
	e := o.ents[i]
	c := o.chunks[e.chunk]
	r := Row{Name: o.name(i), Shard: o.shards[e.shard], Source: o.sources[e.src]}
	if e.data > 0 {
		lo := e.off + uint32(e.name)
		hi := lo + e.data
		r.Data = json.RawMessage(c[lo:hi:hi])
	}
	r.URL = o.urls[i]
	return r
}

// rows are rows lo to hi.
func (o *order) rows(lo, hi int) []Row {
	out := make([]Row, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, o.row(i))
	}
	return out
}

// after is the index of the first row named after name.
func (o *order) after(name string) int {
	return sort.Search(o.len(), func(i int) bool { return o.name(i) > name })
}

// has reports a row named name.
func (o *order) has(name string) bool {
	i := sort.Search(o.len(), func(i int) bool { return o.name(i) >= name })
	return i < o.len() && o.name(i) == name
}

// window is the bounds of start/rows over n rows; rows 0 means Chef's 1000.
func window(n, start, rows int) (int, int) {
	if rows == 0 {
		rows = shards.DefaultPageSize
	}
	if start >= n {
		return n, n
	}
	end := start + rows
	if end > n || end < start {
		end = n
	}
	return start, end
}
