// Package query parses Chef Infra Server search queries and evaluates them
// against Chef objects.
//
// Parse accepts exactly what Chef Infra Server's parser (erchef's
// chef_lucene.peg) accepts, so a query every shard would reject is refused
// once, up front. Match evaluates a parsed query the way Chef's Solr or
// OpenSearch backend would, against a document built by Flatten.
//
// The AST mirrors the Lucene query erchef hands its backend: each (sub)query
// is a flat list of clauses, each with the operator written before it and an
// optional modifier, combined with Lucene's rules (so "a OR b AND c" requires
// b and c, as it does on Chef Server). Nodes keep their text as written,
// backslash escapes included; treat them as read-only.
//
// It imports nothing of Shearch, only the standard library: the engine, the
// Consul fallback, the fake shard and knife's presenters all speak this
// language, so it must stay a leaf that any of them can import.
package query

import (
	"fmt"
	"strings"
)

// SyntaxError is a query Chef Server would reject (HTTP 400).
type SyntaxError struct {
	Pos int    // 0-based byte offset of the problem in the query
	Msg string // what is wrong and, where there is one, the fix

	// wrap is the span of a clause that parses alone but not where it
	// stands; parenthesising it gets past this error. neg marks a NOT clause.
	wrap [2]int
	neg  bool
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bad query at position %d: %s", e.Pos, e.Msg)
}

// Query is a parsed query, or a parenthesised part of one.
type Query struct {
	Clauses []Clause
	// Dangling is an AND/OR with nothing after it ("foo AND"): erchef's
	// grammar accepts it (the backend then fails), so it is kept to print.
	Dangling string

	lucene []luceneClause // Clauses as Lucene combines them, see lower
}

// Clause is one element of a (sub)query.
type Clause struct {
	Op   string // operator written before the clause: "", "AND", "&&", "OR" or "||"
	Mod  string // modifier: "", "+", "-", "!" or "NOT"
	Node Node

	pos, end int // byte span in the parsed text, modifier included
}

// Node is one of *MatchAll, *Term, *Phrase, *Range or *Group.
type Node interface {
	write(b *strings.Builder)
}

// MatchAll is `*:*` at the start of a (sub)query.
type MatchAll struct{}

// Term is a word, or a pattern with * and ? wildcards, optionally fielded.
type Term struct {
	Field string // as written, "" for a bare term; may hold wildcards
	Value string // as written
	Fuzzy bool   // followed by ~
	// Similarity is the number after ~, as written ("" when none).
	Similarity string
	// Boost is the number after ^, as written ("" when none). Only bare
	// terms can carry one: erchef rejects "a:b^2".
	Boost string

	field, value pattern
}

// Phrase is a quoted run of words, optionally fielded.
type Phrase struct {
	Field string   // as written, "" for a bare phrase
	Words []string // as written
	Fuzzy bool     // followed by ~ (a proximity search)
	Slop  string   // the number after ~, as written ("" when none)
	Boost string   // the number after ^, as written ("" when none)

	field string   // unescaped
	words []string // unescaped
}

// Range is field:[lo TO hi] (Inclusive) or field:{lo TO hi}. Either bound
// may be "*" for open; both "*" means the field exists.
type Range struct {
	Field     string // as written
	Lo, Hi    string // as written
	Inclusive bool

	field, lo, hi string // unescaped
	fieldPat      pattern
}

// Group is a parenthesised query. With a Field (`a:(b OR c)`) erchef does
// not distribute the field over the group: Lucene reads it as a search for
// an empty value of a, OR'ed with the group as if unfielded.
type Group struct {
	Field string // as written, usually ""
	Sub   *Query

	field pattern
}

// String prints the query so that Parse gives back the same query. Clauses
// are separated by single spaces, and an empty query prints as " " since
// Chef rejects the empty string.
func (q *Query) String() string {
	var b strings.Builder
	q.write(&b)
	if b.Len() == 0 {
		return " "
	}
	return b.String()
}

func (q *Query) write(b *strings.Builder) {
	for i, c := range q.Clauses {
		if i > 0 {
			b.WriteByte(' ')
			if c.Op != "" {
				b.WriteString(c.Op)
				b.WriteByte(' ')
			}
		}
		var cb strings.Builder
		switch c.Mod {
		case "NOT":
			cb.WriteString("NOT ")
		default:
			cb.WriteString(c.Mod)
		}
		c.Node.write(&cb)
		// `*:*` opening a (sub)query is the match-all, never a field: a
		// leading space keeps a field named * with a value starting with *
		// from turning into one.
		if i == 0 && strings.HasPrefix(cb.String(), "*:*") {
			if _, all := c.Node.(*MatchAll); !all {
				b.WriteByte(' ')
			}
		}
		b.WriteString(cb.String())
	}
	if q.Dangling != "" {
		if len(q.Clauses) > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(q.Dangling)
	}
}

func (*MatchAll) write(b *strings.Builder) { b.WriteString("*:*") }

func (t *Term) write(b *strings.Builder) {
	if t.Field != "" {
		b.WriteString(t.Field)
		b.WriteByte(':')
	}
	b.WriteString(t.Value)
	writeSuffix(b, t.Fuzzy, t.Similarity, t.Boost)
}

func (p *Phrase) write(b *strings.Builder) {
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteByte(':')
	}
	b.WriteByte('"')
	b.WriteString(strings.Join(p.Words, " "))
	b.WriteByte('"')
	writeSuffix(b, p.Fuzzy, p.Slop, p.Boost)
}

func writeSuffix(b *strings.Builder, fuzzy bool, n, boost string) {
	if fuzzy {
		b.WriteByte('~')
		b.WriteString(n)
	}
	if boost != "" {
		b.WriteByte('^')
		b.WriteString(boost)
	}
}

func (r *Range) write(b *strings.Builder) {
	open, closing := "{", "}"
	if r.Inclusive {
		open, closing = "[", "]"
	}
	fmt.Fprintf(b, "%s:%s%s TO %s%s", r.Field, open, r.Lo, r.Hi, closing)
}

func (g *Group) write(b *strings.Builder) {
	if g.Field != "" {
		b.WriteString(g.Field)
		b.WriteByte(':')
	}
	b.WriteByte('(')
	g.Sub.write(b)
	b.WriteByte(')')
}

// Fields lists the field names the query uses, unescaped, in order of first
// use. A wildcard name (`platfo*`, `*`) is listed as written; bare terms,
// which Chef searches without a field, add nothing.
func (q *Query) Fields() []string {
	var out []string
	seen := map[string]bool{}
	add := func(raw string) {
		if f := unescape(raw); raw != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	q.walk(func(n Node) {
		switch n := n.(type) {
		case *Term:
			add(n.Field)
		case *Phrase:
			add(n.Field)
		case *Range:
			add(n.Field)
		case *Group:
			add(n.Field)
		}
	})
	return out
}

func (q *Query) walk(fn func(Node)) {
	for _, c := range q.Clauses {
		fn(c.Node)
		if g, ok := c.Node.(*Group); ok {
			g.Sub.walk(fn)
		}
	}
}

// IsMatchAll reports whether the query is `*:*`, possibly in parentheses, so
// a caller can skip evaluating it.
func (q *Query) IsMatchAll() bool {
	if len(q.Clauses) != 1 || q.Dangling != "" {
		return false
	}
	c := q.Clauses[0]
	if c.Mod != "" && c.Mod != "+" {
		return false
	}
	switch n := c.Node.(type) {
	case *MatchAll:
		return true
	case *Group:
		return n.Field == "" && n.Sub.IsMatchAll()
	}
	return false
}
