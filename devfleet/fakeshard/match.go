package fakeshard

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/shearch/shearch/query"
)

// Bounds of the per-collection caches: a benchmark asks a handful of
// queries many times; anything else is answered by a fresh scan.
const (
	maxMatches  = 64
	maxPartials = 16
)

// match lists the entries a query matches, in name order. *:* and name
// lookups (name:a, name:(a OR b), name:a OR name:b) need no scan; other
// queries are evaluated with Shearch's own matcher once and remembered.
func (c *collection) match(q string) ([]int, error) {
	if q == "*:*" {
		all := make([]int, len(c.entries))
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	if names, ok := nameLookup(q); ok {
		var out []int
		for _, n := range names {
			if i, ok := c.byName[n]; ok {
				out = append(out, i)
			}
		}
		sort.Ints(out)
		return compact(out), nil
	}
	c.mu.Lock()
	hits, ok := c.matches[q]
	c.mu.Unlock()
	if ok {
		return hits, nil
	}
	pq, err := query.Parse(q)
	if err != nil {
		return nil, err
	}
	hits = []int{}
	for i, e := range c.entries {
		obj, err := decode(e.raw)
		if err != nil {
			return nil, err
		}
		if pq.Match(query.Flatten(c.index, obj)) {
			hits = append(hits, i)
		}
	}
	c.mu.Lock()
	if c.matches == nil || len(c.matches) >= maxMatches {
		c.matches = map[string][]int{}
	}
	c.matches[q] = hits
	c.mu.Unlock()
	return hits, nil
}

func compact(s []int) []int {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

var (
	nameGroup = regexp.MustCompile(`^name:\((.*)\)$`)
	orSplit   = regexp.MustCompile(`\s+(?:OR|\|\|)\s+`)
)

// nameLookup reads the queries that only list names. Names with
// wildcards are left to the matcher.
func nameLookup(q string) ([]string, bool) {
	q = strings.TrimSpace(q)
	var terms []string
	if m := nameGroup.FindStringSubmatch(q); m != nil {
		terms = orSplit.Split(strings.TrimSpace(m[1]), -1)
	} else {
		for _, t := range orSplit.Split(q, -1) {
			v, ok := strings.CutPrefix(t, "name:")
			if !ok {
				return nil, false
			}
			terms = append(terms, v)
		}
	}
	names := make([]string, 0, len(terms))
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
			t = t[1 : len(t)-1]
		}
		n, ok := unescape(t)
		if !ok || n == "" {
			return nil, false
		}
		names = append(names, n)
	}
	return names, true
}

// unescape drops Lucene's backslashes; an unescaped wildcard, space or
// parenthesis is not a plain name.
func unescape(t string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		ch := t[i]
		if ch == '\\' && i+1 < len(t) {
			i++
			b.WriteByte(t[i])
			continue
		}
		if strings.IndexByte("*? ()[]{}:\"", ch) >= 0 {
			return "", false
		}
		b.WriteByte(ch)
	}
	return b.String(), true
}

// partialRows encodes the partial-search rows of hits. A page of a query
// seen before comes from the cache of the whole answer; name lookups are
// small and are encoded as asked.
func (s *Shard) partialRows(c *collection, q string, hits []int, start int, body map[string][]string) ([][]byte, error) {
	if _, ok := nameLookup(q); ok || q == "" {
		return s.encodePartial(c, hits, body)
	}
	key := q + "\x00" + canonical(body)
	c.mu.Lock()
	all, ok := c.partials[key]
	c.mu.Unlock()
	if !ok {
		every, err := c.match(q)
		if err != nil {
			return nil, err
		}
		if all, err = s.encodePartial(c, every, body); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.partials == nil || len(c.partials) >= maxPartials {
			c.partials = map[string][][]byte{}
		}
		c.partials[key] = all
		c.mu.Unlock()
	}
	return all[start : start+len(hits)], nil
}

// canonical is body as a cache key: JSON quotes every key and path, so
// {"a=b":["c"]} and {"a":["b=c"]} stay apart (map keys come out sorted).
func canonical(body map[string][]string) string {
	b, _ := json.Marshal(body)
	return string(b)
}

// encodePartial answers a partial search as Chef does: each key is its
// path looked up in the object (a node's merged attributes, under its own
// name, chef_environment and run_list).
func (s *Shard) encodePartial(c *collection, hits []int, body map[string][]string) ([][]byte, error) {
	coll := map[string]string{"node": "nodes", "role": "roles", "environment": "environments", "client": "clients"}[c.index]
	if coll == "" {
		coll = "data/" + c.index
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]byte, len(hits))
	for n, i := range hits {
		e := c.entries[i]
		u, _ := json.Marshal(s.URL() + "/" + coll + "/" + e.name)
		b := append(append([]byte(`{"url":`), u...), `,"data":{`...)
		for k, key := range keys {
			v, err := rawLookup(c.index, e.raw, body[key])
			if err != nil {
				return nil, fmt.Errorf("fakeshard: a partial row of %s: %v", e.name, err)
			}
			if k > 0 {
				b = append(b, ',')
			}
			kq, _ := json.Marshal(key)
			b = append(append(append(b, kq...), ':'), v...)
		}
		out[n] = append(b, "}}"...)
	}
	return out, nil
}

// precedence is Chef's attribute order, highest first.
var precedence = []string{"automatic", "override", "normal", "default"}

func lookup(index string, obj map[string]any, path []string) any {
	if len(path) == 0 {
		return nil
	}
	if index != "node" {
		return walk(obj, path)
	}
	switch path[0] {
	case "name", "chef_environment", "run_list":
		if v, ok := obj[path[0]]; ok {
			return walk(v, path[1:])
		}
	}
	// A leaf is the highest layer's value; a map merges every layer, which
	// query.MergedAttributes does (rare in partial searches, so it is not
	// the fast path).
	for _, layer := range precedence {
		v := walk(obj[layer], path)
		if v == nil {
			continue
		}
		if _, isMap := v.(map[string]any); isMap {
			return walk(query.MergedAttributes(obj), path)
		}
		return v
	}
	return nil
}

func walk(v any, path []string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
