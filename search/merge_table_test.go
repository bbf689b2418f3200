package search

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shearch/shearch/internal/extsort"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/shards"
)

// copyOn is one shard's row for a name: data, and ohai_time for nodes.
type copyOn struct {
	shard, name, data, ohai string
	fallback                bool
}

// answersOf groups the Chef copies by shard, in the order the shards
// are given, as the fan-out returns them.
func answersOf(copies []copyOn) []fanout.Answer[[]shards.Row] {
	var out []fanout.Answer[[]shards.Row]
	at := map[string]int{}
	for _, c := range copies {
		i, ok := at[c.shard]
		if !ok {
			i = len(out)
			at[c.shard] = i
			out = append(out, fanout.Answer[[]shards.Row]{Shard: shards.Shard{Name: c.shard}})
		}
		out[i].Value = append(out[i].Value, shards.Row{Name: c.name, Data: json.RawMessage(copyData(c)), Ohai: c.ohai})
	}
	return out
}

func copyData(c copyOn) string {
	if c.data == "" {
		return `{"name":"` + c.name + `"}`
	}
	return c.data
}

// mergeCopies is merge over Chef copies. Consul's rows reach the merge
// past the fan-out (fallBack), so a table row with a fallback copy, all
// of one name, goes to pickCopy as the sorted stream hands it a group.
func mergeCopies(index string, copies []copyOn) ([]Row, []Duplicate) {
	fallback := false
	for _, c := range copies {
		fallback = fallback || c.fallback
	}
	if !fallback {
		return merge(index, answersOf(copies))
	}
	var group []Row
	for _, c := range copies {
		src := SourceChef
		if c.fallback {
			src = SourceConsul
		}
		group = append(group, Row{Name: c.name, Shard: c.shard, Source: src, Ohai: c.ohai, Data: json.RawMessage(copyData(c))})
	}
	extsort.Sort(group)
	keep, d := pickCopy(index, group)
	var dups []Duplicate
	if d != nil {
		dups = append(dups, *d)
	}
	return []Row{keep}, dups
}

// rowsText is "name@shard(source)" for each kept row.
func rowsText(rows []Row) string {
	var b []string
	for _, r := range rows {
		s := r.Name + "@" + r.Shard
		if r.Source != SourceChef {
			s += "(" + r.Source + ")"
		}
		b = append(b, s)
	}
	return strings.Join(b, " ")
}

func dupsText(dups []Duplicate) string {
	var b []string
	for _, d := range dups {
		s := fmt.Sprintf("%s kept %s stale %s", d.Name, d.Kept, strings.Join(d.Stale, ","))
		if d.Differs {
			s += " differs"
		}
		b = append(b, s)
	}
	return strings.Join(b, "; ")
}

// TestMergeRules: one row per name in name order; a node keeps its newest
// copy by ohai_time (compared exactly), a Chef copy beating a Consul one
// on a tie and the first shard by name otherwise; shared objects keep the
// copy most shards hold, reported only when the copies differ.
func TestMergeRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		index  string
		copies []copyOn
		rows   string
		dups   string
	}{
		{name: "no duplicates, name order", index: "node",
			copies: []copyOn{{shard: "s1", name: "b"}, {shard: "s0", name: "c"}, {shard: "s0", name: "a"}},
			rows:   "a@s0 b@s1 c@s0"},
		{name: "node: newest ohai_time wins", index: "node",
			copies: []copyOn{{shard: "s0", name: "web", ohai: "100"}, {shard: "s1", name: "web", ohai: "200"}, {shard: "s2", name: "web", ohai: "150"}},
			rows:   "web@s1", dups: "web kept s1 stale s0,s2 differs"},
		{name: "node: ohai_time compared as exact decimals", index: "node",
			copies: []copyOn{{shard: "s0", name: "web", ohai: "1795348487.52"}, {shard: "s1", name: "web", ohai: "1795348487.5"}},
			rows:   "web@s0", dups: "web kept s0 stale s1 differs"},
		{name: "node: exponent form reads as a number", index: "node",
			copies: []copyOn{{shard: "s0", name: "web", ohai: "1.7e9"}, {shard: "s1", name: "web", ohai: "1699999999"}},
			rows:   "web@s0", dups: "web kept s0 stale s1 differs"},
		{name: "node: tie goes to the first shard by name", index: "node",
			copies: []copyOn{{shard: "s1", name: "web", ohai: "100"}, {shard: "s0", name: "web", ohai: "100"}},
			rows:   "web@s0", dups: "web kept s0 stale s1 differs"},
		{name: "node: a copy without ohai_time loses", index: "node",
			copies: []copyOn{{shard: "s0", name: "web"}, {shard: "s1", name: "web", ohai: "0"}},
			rows:   "web@s1", dups: "web kept s1 stale s0 differs"},
		{name: "node: unreadable ohai_time counts as none", index: "node",
			copies: []copyOn{{shard: "s0", name: "web", ohai: "soon"}, {shard: "s1", name: "web"}},
			rows:   "web@s0", dups: "web kept s0 stale s1 differs"},
		{name: "node: Chef beats Consul on a tie", index: "node",
			copies: []copyOn{{shard: "s0", name: "web", ohai: "100", fallback: true}, {shard: "s1", name: "web", ohai: "100"}},
			rows:   "web@s1", dups: "web kept s1 stale s0 differs"},
		{name: "node: a newer Consul copy still wins", index: "node",
			copies: []copyOn{{shard: "s0", name: "web", ohai: "101", fallback: true}, {shard: "s1", name: "web", ohai: "100"}},
			rows:   "web@s0(consul)", dups: "web kept s0 stale s1 differs"},
		{name: "role: identical copies are no duplicate", index: "role",
			copies: []copyOn{{shard: "s0", name: "base", data: `{"a":1,"b":2}`}, {shard: "s1", name: "base", data: `{ "b":2, "a":1 }`}},
			rows:   "base@s0"},
		{name: "role: the majority copy wins", index: "role",
			copies: []copyOn{{shard: "s0", name: "base", data: `{"v":1}`}, {shard: "s1", name: "base", data: `{"v":2}`}, {shard: "s2", name: "base", data: `{"v":2}`}},
			rows:   "base@s1", dups: "base kept s1 stale s0,s2 differs"},
		{name: "role: a tie of copies goes to the first shard", index: "role",
			copies: []copyOn{{shard: "s1", name: "base", data: `{"v":2}`}, {shard: "s0", name: "base", data: `{"v":1}`}},
			rows:   "base@s0", dups: "base kept s0 stale s1 differs"},
		{name: "role: numbers keep their text", index: "role",
			copies: []copyOn{{shard: "s0", name: "base", data: `{"v":1.0}`}, {shard: "s1", name: "base", data: `{"v":1}`}},
			rows:   "base@s0", dups: "base kept s0 stale s1 differs"},
		{name: "client: built-in clients differ on every shard, unreported", index: "client",
			copies: []copyOn{{shard: "s0", name: "chef-validator", data: `{"k":1}`}, {shard: "s1", name: "chef-validator", data: `{"k":2}`}},
			rows:   "chef-validator@s0"},
		{name: "client: any other client that differs is reported", index: "client",
			copies: []copyOn{{shard: "s0", name: "ops", data: `{"k":1}`}, {shard: "s1", name: "ops", data: `{"k":2}`}},
			rows:   "ops@s0", dups: "ops kept s0 stale s1 differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, dups := mergeCopies(tc.index, tc.copies)
			if got := rowsText(rows); got != tc.rows {
				t.Errorf("rows %q, want %q", got, tc.rows)
			}
			if got := dupsText(dups); got != tc.dups {
				t.Errorf("duplicates %q, want %q", got, tc.dups)
			}
		})
	}
}
