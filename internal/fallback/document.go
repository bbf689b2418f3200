package fallback

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/shearch/shearch/query"
)

// Entry is what the Consul catalog holds about one Chef node (DESIGN.md,
// "Consul data model").
type Entry struct {
	Name    string
	Address string
	// Meta is the node meta: chef_environment, chef_shard, fqdn, platform,
	// platform_version.
	Meta map[string]string
	// Tags are the chef-node service tags: role:X, recipe:X, tag:X.
	Tags []string
}

// Tag prefixes of the chef-node service.
const (
	rolePrefix   = "role:"
	recipePrefix = "recipe:"
	tagPrefix    = "tag:"
)

// Document builds the Chef-like node that Consul can vouch for, so the
// Chef query evaluator and partial-search paths work on it unchanged.
// Everything Consul does not hold is absent rather than guessed, except
// run_list (see below).
func Document(e Entry) map[string]any {
	var roles, recipes, tags []any
	var runList []any
	for _, t := range e.Tags {
		switch {
		case strings.HasPrefix(t, rolePrefix):
			r := strings.TrimPrefix(t, rolePrefix)
			roles = append(roles, r)
			// run_list is approximated: Consul holds only the expanded
			// roles, not the run list, so every role a node has is taken
			// to be on it and the run list's own recipes are left out.
			// role:X therefore also matches a node that gets X through
			// another role; recipe:X is not known (see Known).
			runList = append(runList, "role["+r+"]")
		case strings.HasPrefix(t, recipePrefix):
			recipes = append(recipes, strings.TrimPrefix(t, recipePrefix))
		case strings.HasPrefix(t, tagPrefix):
			tags = append(tags, strings.TrimPrefix(t, tagPrefix))
		}
	}
	auto := map[string]any{"roles": orEmpty(roles), "recipes": orEmpty(recipes)}
	if e.Address != "" {
		auto["ipaddress"] = e.Address
	}
	for _, k := range []string{"fqdn", "platform", "platform_version"} {
		if v := e.Meta[k]; v != "" {
			auto[k] = v
		}
	}
	env := e.Meta["chef_environment"]
	if env == "" {
		env = "_default" // what Chef gives a node saved without one
	}
	return map[string]any{
		"name":             e.Name,
		"chef_type":        "node",
		"json_class":       "Chef::Node",
		"chef_environment": env,
		"run_list":         orEmpty(runList),
		"automatic":        auto,
		"normal":           map[string]any{"tags": orEmpty(tags)},
		"default":          map[string]any{},
		"override":         map[string]any{},
	}
}

// Chef writes empty lists as [], never null; a row from Consul should too.
func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// knownFields are the fields whose every value Consul holds, so a miss on
// them is a real miss. Chef indexes the merged attributes at the top level,
// so automatic_ipaddress and the like hold nothing on Chef either: knowing
// that they are empty here is accurate. recipe and run_list are absent on
// purpose: Consul does not hold the run list (see Document), so a miss on
// them proves nothing.
var knownFields = func() map[string]bool {
	m := map[string]bool{
		"name": true, "chef_environment": true, "chef_type": true, "X_CHEF_type_CHEF_X": true,
		"role": true, "roles": true, "recipes": true, "tags": true,
		"ipaddress": true, "fqdn": true, "platform": true, "platform_version": true,
		"normal_tags": true,
	}
	for _, k := range []string{"ipaddress", "fqdn", "roles", "recipes", "platform", "platform_version"} {
		m["automatic_"+k] = true
	}
	return m
}()

// Known says whether Consul can decide a query field: the known function
// of query.MatchPartial. Wildcard field names are never known, as they may
// name attributes Consul lacks.
func Known(field string) bool { return knownFields[field] }

// Match evaluates a parsed query against a document built by Document.
// A row Consul cannot decide is not returned ("answered only as far as it
// can be"): its undecided fields come back in unchecked instead, for the
// shard status to report.
func Match(q *query.Query, doc map[string]any) (match bool, unchecked []string) {
	if q.IsMatchAll() {
		return true, nil
	}
	ok, unk := q.MatchPartial(query.Flatten("node", doc), Known)
	if !ok || len(unk) > 0 {
		return false, unk
	}
	return true, nil
}

// PartialData is the partial-search hash of a document: each key of the
// body maps to the value at its path, nil where the node has none. Paths
// are looked up as Chef does for nodes, in the merged attributes with the
// node's own top-level keys (name, chef_environment, run_list) over them.
func PartialData(doc map[string]any, body map[string][]string) map[string]any {
	base := query.MergedAttributes(doc)
	for k, v := range doc {
		switch k {
		case "default", "normal", "override", "automatic":
		default:
			base[k] = v
		}
	}
	out := make(map[string]any, len(body))
	for key, path := range body {
		out[key] = lookup(base, path)
	}
	return out
}

func lookup(m map[string]any, path []string) any {
	if len(path) == 0 {
		return nil
	}
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = mm[p]; !ok {
			return nil
		}
	}
	return v
}

// filter is what can be asked of Consul itself: node meta equalities and
// service tags that every matching node must have.
type filter struct {
	meta map[string]string
	tags []string
}

// key identifies a filter in the cache. It is JSON, which quotes every
// string, so no meta key, value or tag can pass for a separator (a NUL
// joined them before: a key "a\x00b" with value "c" read as key "a" with
// value "b\x00c"); json.Marshal writes the meta keys sorted.
func (f filter) key() string {
	tags := append([]string(nil), f.tags...)
	sort.Strings(tags)
	b, _ := json.Marshal(struct {
		Meta map[string]string `json:"m"`
		Tags []string          `json:"t"`
	}{f.meta, tags})
	return string(b)
}

// pushdown finds the clauses every match must satisfy that Consul can
// check itself, so a query such as `role:web AND chef_environment:prod`
// does not fetch the whole shard. It only narrows: the query is still
// evaluated on what comes back. tags is left out: Chef matches the first
// word of a tag ("foo bar" is found by tags:foo) and Consul's tag filter
// would not.
func pushdown(q *query.Query, shard string) filter {
	f := filter{meta: map[string]string{"chef_shard": shard}}
	if q.Dangling != "" {
		return f
	}
	for _, n := range required(q) {
		t, ok := n.(*query.Term)
		if !ok || t.Fuzzy || t.Boost != "" {
			continue
		}
		field, okf := literal(t.Field)
		value, okv := literal(t.Value)
		if !okf || !okv || value == "" {
			continue
		}
		// Environment, platform, role and recipe names hold no spaces, so
		// Chef's first-word match is an equality there.
		switch field {
		case "chef_environment", "platform":
			if _, dup := f.meta[field]; !dup {
				f.meta[field] = value
			}
		case "role", "roles":
			f.tags = appendNew(f.tags, rolePrefix+value)
		case "recipes":
			f.tags = appendNew(f.tags, recipePrefix+value)
		}
	}
	sort.Strings(f.tags)
	return f
}

// required lists the nodes of the top-level clauses a match must satisfy,
// following Lucene as the query package does: AND makes both neighbours
// required, + makes its clause required, and a lone positive clause is
// required.
func required(q *query.Query) []query.Node {
	var out, positive []query.Node
	for i, c := range q.Clauses {
		if c.Mod != "" && c.Mod != "+" {
			continue
		}
		positive = append(positive, c.Node)
		and := isAnd(c.Op) || i+1 < len(q.Clauses) && isAnd(q.Clauses[i+1].Op)
		if c.Mod == "+" || and {
			out = append(out, c.Node)
		}
	}
	if len(out) == 0 && len(positive) == 1 {
		return positive
	}
	return out
}

func isAnd(op string) bool { return op == "AND" || op == "&&" }

// literal unescapes a term as written; ok is false for a pattern, which
// Consul's equality filters cannot express.
func literal(raw string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			i++
			b.WriteByte(raw[i])
		case c == '*' || c == '?':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
