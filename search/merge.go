package search

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"strings"

	"github.com/shearch/shearch/internal/extsort"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// merge puts every shard's rows in one global order (name, then shard)
// and keeps one row per name. Nodes keep the copy with the newest
// automatic.ohai_time; objects uploaded to every shard (roles,
// environments, data bags, built-in clients) keep the copy most shards
// agree on, a tie going to the first shard by name, as one Chef server
// would hold only one.
func merge(index string, answers []fanout.Answer[[]shards.Row]) ([]Row, []Duplicate) {
	n := 0
	for _, a := range answers {
		n += len(a.Value)
	}
	all := make([]Row, 0, n)
	for i := range answers {
		a := &answers[i]
		for _, r := range a.Value {
			all = append(all, rowFrom(r, a.Shard.Name, SourceChef))
		}
		// The shard's rows now live in all: let them go, a fleet's worth.
		a.Value = nil
	}
	extsort.Sort(all)
	// Kept rows are written over the sorted ones: never ahead of the read.
	out := all[:0]
	dups := []Duplicate{}
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].Name == all[i].Name {
			j++
		}
		keep, d := pickCopy(index, all[i:j])
		out = append(out, keep)
		if d != nil {
			dups = append(dups, *d)
		}
		i = j
	}
	return out, dups
}

// pickCopy keeps one row of a group of rows with the same name, in shard
// order, and says which duplicate to report (nil for none). Identical
// copies of shared objects are how a sharded fleet is meant to look; they
// are reported only when they drift. goiardi's built-in clients exist,
// with their own keys, on every shard.
func pickCopy(index string, group []Row) (Row, *Duplicate) {
	if len(group) == 1 {
		return group[0], nil
	}
	var keep int
	var differs bool
	if index == "node" {
		keep = newest(group)
		differs = true
	} else {
		keep, differs = majority(group)
	}
	// The name is copied: a row's name may share its allocation with the
	// row's object (a row read back from a sorted run, a partial row), and
	// a duplicate outlives the row.
	d := Duplicate{Name: strings.Clone(group[keep].Name), Kept: group[keep].Shard, Differs: differs}
	for k, r := range group {
		if k != keep {
			d.Stale = append(d.Stale, r.Shard)
		}
	}
	builtin := index == "client" && (d.Name == "chef-validator" || d.Name == "chef-webui")
	if index == "node" || differs && !builtin {
		return group[keep], &d
	}
	return group[keep], nil
}

// newest picks the row with the highest ohai_time; a Chef row beats a
// fallback row on a tie, since Consul holds less of the node.
func newest(group []Row) int {
	best, bestT := 0, ohaiTime(group[0])
	for k := 1; k < len(group); k++ {
		t := ohaiTime(group[k])
		c := t.Cmp(bestT)
		if c > 0 || c == 0 && group[best].Source != SourceChef && group[k].Source == SourceChef {
			best, bestT = k, t
		}
	}
	return best
}

// ohaiTime reads automatic.ohai_time (or the partial-search copy) as an
// exact number: the JSON number text compared as a big.Float so
// 1795348487.52 and 1795348487.5 are told apart.
func ohaiTime(r Row) *big.Float {
	return parseOhai(r.Ohai)
}

func parseOhai(s string) *big.Float {
	f := new(big.Float)
	if s != "" {
		if _, ok := f.SetString(s); ok {
			return f
		}
	}
	return f.SetInt64(-1)
}

// majority picks the copy most shards hold (group is in shard order, so
// the first of equally common copies belongs to the first shard by name).
func majority(group []Row) (keep int, differs bool) {
	counts := map[[32]byte]int{}
	hashes := make([][32]byte, len(group))
	for k, r := range group {
		hashes[k] = rawHash(r.Data)
		counts[hashes[k]]++
	}
	best := 0
	for k := range group {
		if counts[hashes[k]] > counts[hashes[best]] {
			best = k
		}
	}
	return best, len(counts) > 1
}

// rawHash hashes an object sent as raw JSON by its content, whatever the
// key order or spacing each shard wrote it with. Only duplicated shared
// objects (roles, environments) get here, so decoding them is cheap.
func rawHash(raw json.RawMessage) [32]byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return sha256.Sum256(raw)
	}
	return shards.ContentHash(v)
}
