package query

import (
	"fmt"
	"strings"
)

// maxDepth bounds parenthesis nesting. erchef has no such limit, but no real
// query comes near it and it keeps hostile input from exhausting the stack.
const maxDepth = 200

// Parse parses a Chef search query (the q parameter, already URL-decoded).
// It accepts exactly what Chef Infra Server's parser accepts; anything else
// is a *SyntaxError. The empty string is an error too, as on Chef Server: a
// request without q means `*:*`, one with an empty q is a 400.
func Parse(q string) (*Query, error) {
	res, err := parse(q, true)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// parse is Parse without the interface conversion, so a nil *SyntaxError
// stays nil. suggest is off while the error path re-parses candidate fixes.
func parse(q string, suggest bool) (*Query, *SyntaxError) {
	if q == "" {
		return nil, &SyntaxError{Msg: "empty query; leave q out to search for everything (*:*)"}
	}
	p := &parser{s: q, tooDeep: -1, groups: map[int]groupMemo{}, suggest: suggest}
	res, end := p.query(0)
	if p.tooDeep >= 0 {
		return nil, &SyntaxError{Pos: p.tooDeep, Msg: fmt.Sprintf("more than %d nested parentheses", maxDepth)}
	}
	if end < len(q) {
		return nil, p.withFix(p.explain(res, end, -1))
	}
	res.prepare()
	return res, nil
}

// parser is a recursive-descent transcription of chef_lucene.peg. Each
// method is one rule and returns the end of its match, or -1. PEG semantics
// are kept exactly: an ordered choice commits to its first alternative that
// matches and is never revisited, which is what makes erchef reject some
// queries a Lucene parser would take (`"a b" AND c`, `a:b^2`).
type parser struct {
	s       string
	depth   int
	tooDeep int // where maxDepth was exceeded, or -1
	// groups memoises `group` by position. Several rules try a group at the
	// same place; without this, nesting costs 2^depth.
	groups  map[int]groupMemo
	suggest bool
}

type groupMemo struct {
	sub *Query
	end int
}

// expr is one matched `expression`.
type expr struct {
	mod     string
	node    Node
	nodeEnd int
	op      string // binary_op: the operator following node
	end     int    // after the operator and its spaces, if any
}

// query is `query <- star_star / (expression / space)*`. It never fails; the
// caller checks where it stopped.
//
// binary_op's right-hand side is itself a query, which would make
// "a AND b AND c" nest one level per operator. That rhs query always runs to
// where the enclosing loop would stop anyway, so it is inlined: the operator
// is attached to the next clause and the loop goes on. Only star_star needs
// care, since it may open the rhs.
func (p *parser) query(i int) (*Query, int) {
	s := p.s
	q := &Query{}
	if strings.HasPrefix(s[i:], "*:*") {
		q.Clauses = append(q.Clauses, Clause{Node: &MatchAll{}, pos: i, end: i + 3})
		return q, i + 3
	}
	op := ""
	for i < len(s) {
		if isSpace(s[i]) {
			i = skipSpace(s, i)
			continue
		}
		e, ok := p.expression(i)
		if !ok {
			break
		}
		q.Clauses = append(q.Clauses, Clause{Op: op, Mod: e.mod, Node: e.node, pos: i, end: e.nodeEnd})
		op, i = e.op, e.end
		if op != "" && strings.HasPrefix(s[i:], "*:*") {
			q.Clauses = append(q.Clauses, Clause{Op: op, Node: &MatchAll{}, pos: i, end: i + 3})
			op, i = "", i+3
		}
	}
	q.Dangling = op
	return q, i
}

// expression is `operation / group / field_phrase / field / field_range /
// term / string`, with operation being `binary_op / unary_op / fuzzy_op /
// boost_op`.
func (p *parser) expression(i int) (expr, bool) {
	s := p.s
	if n, j := p.lhs(i); j >= 0 {
		k := skipSpace(s, j)
		if op := boolOpAt(s, k); op != "" {
			return expr{node: n, nodeEnd: j, op: op, end: skipSpace(s, k+len(op))}, true
		}
	}
	if mod, n, j := p.unary(i); j >= 0 {
		return expr{mod: mod, node: n, nodeEnd: j, end: j}, true
	}
	for _, rule := range [...]func(int) (Node, int){
		p.fuzzy, p.boost, p.groupNode, p.fieldPhrase, p.field, p.fieldRange, p.term, p.phrase,
	} {
		if n, j := rule(i); j >= 0 {
			return expr{node: n, nodeEnd: j, end: j}, true
		}
	}
	return expr{}, false
}

// lhs is binary_op's left operand: `group / field_phrase / field /
// field_range / term`. No NOT clause, bare phrase, fuzzy or boosted term.
func (p *parser) lhs(i int) (Node, int) {
	for _, rule := range [...]func(int) (Node, int){p.groupNode, p.fieldPhrase, p.field, p.fieldRange, p.term} {
		if n, j := rule(i); j >= 0 {
			return n, j
		}
	}
	return nil, -1
}

// unary is `not_op / required_op / prohibited_op`:
//
//	not_op        <- ('NOT' space / '!' space?) (group / field / field_range / term / string)
//	required_op   <- '+' (term / string)
//	prohibited_op <- '-' (field / field_range / term / string)
func (p *parser) unary(i int) (string, Node, int) {
	s := p.s
	if i >= len(s) {
		return "", nil, -1
	}
	var mod string
	var j int
	var rules []func(int) (Node, int)
	switch {
	case strings.HasPrefix(s[i:], "NOT") && i+3 < len(s) && isSpace(s[i+3]):
		mod, j = "NOT", skipSpace(s, i+3)
		rules = []func(int) (Node, int){p.groupNode, p.field, p.fieldRange, p.term, p.phrase}
	case s[i] == '!':
		mod, j = "!", skipSpace(s, i+1)
		rules = []func(int) (Node, int){p.groupNode, p.field, p.fieldRange, p.term, p.phrase}
	case s[i] == '+':
		mod, j = "+", i+1
		rules = []func(int) (Node, int){p.term, p.phrase}
	case s[i] == '-':
		mod, j = "-", i+1
		rules = []func(int) (Node, int){p.field, p.fieldRange, p.term, p.phrase}
	default:
		return "", nil, -1
	}
	for _, rule := range rules {
		if n, e := rule(j); e >= 0 {
			return mod, n, e
		}
	}
	return "", nil, -1
}

func (p *parser) term(i int) (Node, int) {
	e := scanTerm(p.s, i)
	if e < 0 {
		return nil, -1
	}
	return &Term{Value: p.s[i:e]}, e
}

// phrase is `string <- '"' (term (space term)*) '"'`: words must be terms,
// so `""`, `" a"`, `"a AND b"` and `"a:b"` are all rejected.
func (p *parser) phrase(i int) (Node, int) {
	s := p.s
	if i >= len(s) || s[i] != '"' {
		return nil, -1
	}
	j := scanTerm(s, i+1)
	if j < 0 {
		return nil, -1
	}
	words := []string{s[i+1 : j]}
	for {
		k := skipSpace(s, j)
		if k == j {
			break
		}
		e := scanTerm(s, k)
		if e < 0 {
			break
		}
		words = append(words, s[k:e])
		j = e
	}
	if j >= len(s) || s[j] != '"' {
		return nil, -1
	}
	return &Phrase{Words: words}, j + 1
}

// termOrPhrase is the `(term / string)` that fuzzy_op and boost_op start with.
func (p *parser) termOrPhrase(i int) (Node, int) {
	if n, j := p.term(i); j >= 0 {
		return n, j
	}
	return p.phrase(i)
}

// fuzzy is `fuzzy_op <- (term / string) '~' fuzzy_param?`.
func (p *parser) fuzzy(i int) (Node, int) {
	n, j := p.termOrPhrase(i)
	if j < 0 || j >= len(p.s) || p.s[j] != '~' {
		return nil, -1
	}
	j++
	num := ""
	if e := scanNumber(p.s, j); e >= 0 {
		num, j = p.s[j:e], e
	}
	switch n := n.(type) {
	case *Term:
		n.Fuzzy, n.Similarity = true, num
	case *Phrase:
		n.Fuzzy, n.Slop = true, num
	}
	return n, j
}

// boost is `boost_op <- (term / string) '^' fuzzy_param`.
func (p *parser) boost(i int) (Node, int) {
	n, j := p.termOrPhrase(i)
	if j < 0 || j >= len(p.s) || p.s[j] != '^' {
		return nil, -1
	}
	e := scanNumber(p.s, j+1)
	if e < 0 {
		return nil, -1
	}
	switch n := n.(type) {
	case *Term:
		n.Boost = p.s[j+1 : e]
	case *Phrase:
		n.Boost = p.s[j+1 : e]
	}
	return n, e
}

// fieldPrefix matches `field_name ":"` and returns the name and the position
// after the colon.
func (p *parser) fieldPrefix(i int) (string, int) {
	e := scanFieldName(p.s, i)
	if e < 0 || e >= len(p.s) || p.s[e] != ':' {
		return "", -1
	}
	return p.s[i:e], e + 1
}

// fieldPhrase is `field_name ':' '"' str '"'`.
func (p *parser) fieldPhrase(i int) (Node, int) {
	name, j := p.fieldPrefix(i)
	if j < 0 {
		return nil, -1
	}
	n, e := p.phrase(j)
	if e < 0 {
		return nil, -1
	}
	n.(*Phrase).Field = name
	return n, e
}

// field is `field_name ":" (fuzzy_op / term / group / string)`.
func (p *parser) field(i int) (Node, int) {
	name, j := p.fieldPrefix(i)
	if j < 0 {
		return nil, -1
	}
	for _, rule := range [...]func(int) (Node, int){p.fuzzy, p.term, p.groupNode, p.phrase} {
		n, e := rule(j)
		if e < 0 {
			continue
		}
		switch n := n.(type) {
		case *Term:
			n.Field = name
		case *Phrase:
			n.Field = name
		case *Group:
			n.Field = name
		}
		return n, e
	}
	return nil, -1
}

// fieldRange is `field_name ":" (("[" range_entry " TO " range_entry "]") /
// ("{" range_entry " TO " range_entry "}"))`: the brackets match, and TO is
// upper-case with exactly one space on each side.
func (p *parser) fieldRange(i int) (Node, int) {
	s := p.s
	name, j := p.fieldPrefix(i)
	if j < 0 || j >= len(s) {
		return nil, -1
	}
	var closing byte
	switch s[j] {
	case '[':
		closing = ']'
	case '{':
		closing = '}'
	default:
		return nil, -1
	}
	lo := scanRangeEntry(s, j+1)
	if lo < 0 || !strings.HasPrefix(s[lo:], " TO ") {
		return nil, -1
	}
	hi := scanRangeEntry(s, lo+4)
	if hi < 0 || hi >= len(s) || s[hi] != closing {
		return nil, -1
	}
	return &Range{Field: name, Lo: s[j+1 : lo], Hi: s[lo+4 : hi], Inclusive: closing == ']'}, hi + 1
}

// scanRangeEntry is `range_entry <- "*" / valid_letter+`. The choice commits
// to "*", so `[*foo TO bar]` is rejected rather than read as a pattern.
func scanRangeEntry(s string, i int) int {
	if i < len(s) && s[i] == '*' {
		return i + 1
	}
	return scanLetters(s, i)
}

// groupNode is `group <- '(' query ')'`.
func (p *parser) groupNode(i int) (Node, int) {
	s := p.s
	if i >= len(s) || s[i] != '(' {
		return nil, -1
	}
	m, seen := p.groups[i]
	if !seen {
		m = groupMemo{end: -1}
		if p.depth >= maxDepth {
			if p.tooDeep < 0 {
				p.tooDeep = i
			}
		} else {
			p.depth++
			sub, e := p.query(i + 1)
			p.depth--
			if e < len(s) && s[e] == ')' {
				m = groupMemo{sub: sub, end: e + 1}
			}
		}
		p.groups[i] = m
	}
	if m.end < 0 {
		return nil, -1
	}
	return &Group{Sub: m.sub}, m.end
}

// prepare compiles patterns and works out how Lucene combines the clauses,
// once, after a successful parse.
func (q *Query) prepare() {
	for _, c := range q.Clauses {
		switch n := c.Node.(type) {
		case *Term:
			n.value = compile(n.Value)
			if n.Field != "" {
				n.field = compile(n.Field)
			}
		case *Phrase:
			n.field = unescape(n.Field)
			n.words = make([]string, len(n.Words))
			for i, w := range n.Words {
				n.words[i] = unescape(w)
			}
		case *Range:
			n.field, n.lo, n.hi = unescape(n.Field), unescape(n.Lo), unescape(n.Hi)
			n.fieldPat = compile(n.Field)
		case *Group:
			if n.Field != "" {
				n.field = compile(n.Field)
			}
			n.Sub.prepare()
		}
	}
	q.lower()
}
