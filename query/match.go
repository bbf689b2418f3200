package query

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// occur is a Lucene BooleanClause.Occur.
type occur uint8

const (
	should occur = iota
	must
	mustNot
)

type luceneClause struct {
	occ  occur
	node Node
}

// lower works out each clause's occur the way Lucene's classic query parser
// (QueryParserBase.addClause, default operator OR) does for the text erchef
// sends it. Operators are not boolean algebra there: AND marks both of its
// neighbours required, OR marks nothing, so "a OR b AND c" requires b and c.
func (q *Query) lower() {
	lc := make([]luceneClause, 0, len(q.Clauses))
	add := func(op, mod string, n Node) {
		and := op == "AND" || op == "&&"
		if and && len(lc) > 0 && lc[len(lc)-1].occ != mustNot {
			lc[len(lc)-1].occ = must
		}
		occ := should
		switch {
		case mod == "-" || mod == "!" || mod == "NOT":
			occ = mustNot
		case mod == "+" || and:
			occ = must
		}
		lc = append(lc, luceneClause{occ, n})
	}
	for _, c := range q.Clauses {
		if g, ok := c.Node.(*Group); ok && g.Field != "" {
			// erchef emits "content:a__=__(b OR c)", which Lucene reads as
			// the term "a__=__" followed by an unfielded group.
			add(c.Op, c.Mod, &Term{Field: g.Field, field: g.field})
			add("", "", &Group{Sub: g.Sub})
			continue
		}
		add(c.Op, c.Mod, c.Node)
	}
	q.lucene = lc
}

// tri is a three-valued truth: MatchPartial does not know every field.
type tri uint8

const (
	no tri = iota
	yes
	maybe
)

func and3(a, b tri) tri {
	switch {
	case a == no || b == no:
		return no
	case a == maybe || b == maybe:
		return maybe
	}
	return yes
}

func or3(a, b tri) tri {
	switch {
	case a == yes || b == yes:
		return yes
	case a == maybe || b == maybe:
		return maybe
	}
	return no
}

func not3(a tri) tri {
	switch a {
	case yes:
		return no
	case no:
		return yes
	}
	return maybe
}

// Match reports whether Chef Server would return doc for the query.
//
// Matching follows Chef's index: every value is split on whitespace and only
// its first token carries the field, so comment:Charlie finds "Charlie the
// Unicorn" and comment:Unicorn does not; comparisons are case-sensitive;
// wildcards span a whole token; ranges compare strings; a bare term only
// finds the second and later words of values, which in practice is nothing;
// and a (sub)query of NOT clauses alone means everything minus those.
//
// Fuzzy terms use Lucene 4's edit distance (at most 2, transpositions
// counting as one) over "field__=__value", the token Chef indexes. Phrase
// proximity (~N) is checked within a single value. Keys or values that
// themselves contain "__=__" are not matched the way Lucene would.
func (q *Query) Match(doc Doc) bool {
	e := evaluator{doc: doc}
	return e.query(q) == yes
}

// MatchPartial matches against a document source that only knows some
// fields, as Consul does (name, chef_environment, ipaddress, roles...). A
// clause on a field for which known returns false, and which doc does not
// satisfy, could still match the real object: it counts as unknown, and
// unknowns propagate (NOT unknown is unknown, unknown AND true is unknown).
// match is true when the outcome is true or unknown; unchecked then lists
// the unknown fields that left it open. known is called with field names as
// Fields returns them, wildcards included. Bare terms are always evaluated.
func (q *Query) MatchPartial(doc Doc, known func(field string) bool) (match bool, unchecked []string) {
	e := evaluator{doc: doc, known: known}
	switch e.query(q) {
	case yes:
		return true, nil
	case maybe:
		slices.Sort(e.unknown)
		return true, slices.Compact(e.unknown)
	}
	return false, nil
}

type evaluator struct {
	doc     Doc
	known   func(string) bool // nil: every field is known
	unknown []string
}

func (e *evaluator) query(q *Query) tri {
	if len(q.lucene) == 0 {
		return no
	}
	var hasMust, hasShould bool
	for _, c := range q.lucene {
		hasMust = hasMust || c.occ == must
		hasShould = hasShould || c.occ == should
	}
	res := yes
	switch {
	case hasMust:
		for _, c := range q.lucene {
			if c.occ == must {
				if res = and3(res, e.node(c.node)); res == no {
					return no
				}
			}
		}
	case hasShould:
		res = no
		for _, c := range q.lucene {
			if c.occ == should {
				if res = or3(res, e.node(c.node)); res == yes {
					break
				}
			}
		}
		if res == no {
			return no
		}
	}
	// With no positive clause, Chef's backends match everything first.
	for _, c := range q.lucene {
		if c.occ == mustNot {
			if res = and3(res, not3(e.node(c.node))); res == no {
				return no
			}
		}
	}
	return res
}

func (e *evaluator) node(n Node) tri {
	switch n := n.(type) {
	case *MatchAll:
		return yes
	case *Group:
		return e.query(n.Sub)
	case *Term:
		switch {
		case n.Fuzzy:
			return e.check(n.Field, n.field.lit, e.fuzzyHit(n))
		case n.Field == "":
			return e.check("", "", e.bareHit(n.value))
		}
		return e.check(n.Field, n.field.lit, e.termHit(n))
	case *Phrase:
		return e.check(n.Field, n.field, e.phraseHit(n))
	case *Range:
		return e.check(n.Field, n.field, e.rangeHit(n))
	}
	return no
}

// check turns a hit into a truth value. A miss on a field the source does
// not know is unknown; a hit stands, since the real object has at least the
// values the source has.
func (e *evaluator) check(raw, field string, hit bool) tri {
	switch {
	case hit:
		return yes
	case raw != "" && e.known != nil && !e.known(field):
		e.unknown = append(e.unknown, field)
		return maybe
	}
	return no
}

// values calls fn with the values of every field the pattern names, until
// fn returns true.
func (e *evaluator) values(field pattern, fn func(v string) bool) bool {
	if !field.wild() {
		for _, v := range e.doc[field.lit] {
			if fn(v) {
				return true
			}
		}
		return false
	}
	for k, vs := range e.doc {
		if field.match(k) {
			for _, v := range vs {
				if fn(v) {
					return true
				}
			}
		}
	}
	return false
}

func (e *evaluator) termHit(t *Term) bool {
	return e.values(t.field, func(v string) bool {
		first, _ := splitFirst(v)
		return t.value.match(first)
	})
}

// bareHit matches an unfielded term. Such a term searches every token, and
// the only tokens without the "key__=__" prefix are the later words of
// multi-word values. A wildcard could still reach a prefixed token.
func (e *evaluator) bareHit(p pattern) bool {
	for k, vs := range e.doc {
		for _, v := range vs {
			first, rest := splitFirst(v)
			for w := range strings.FieldsFuncSeq(rest, isIndexSpace) {
				if p.match(w) {
					return true
				}
			}
			if p.wild() && p.match(k+"__=__"+first) {
				return true
			}
		}
	}
	return false
}

func (e *evaluator) fuzzyHit(t *Term) bool {
	target := t.value.lit
	if t.Field != "" {
		target = t.field.lit + "__=__" + target
	}
	want := []rune(target)
	max := fuzzyEdits(t.Similarity, len(want))
	for k, vs := range e.doc {
		for _, v := range vs {
			first, rest := splitFirst(v)
			if withinEdits(want, k+"__=__"+first, max) {
				return true
			}
			for w := range strings.FieldsFuncSeq(rest, isIndexSpace) {
				if withinEdits(want, w, max) {
					return true
				}
			}
		}
	}
	return false
}

// fuzzyEdits is Lucene 4's FuzzyQuery.floatToEdits: "~" alone allows two
// edits, "~N" N of them (at most two), "~0.x" a share of the term length.
func fuzzyEdits(sim string, termLen int) int {
	if sim == "" {
		return 2
	}
	f, err := strconv.ParseFloat(sim, 64)
	switch {
	case err != nil:
		return 2
	case f >= 1:
		return min(int(f), 2)
	case f == 0:
		return 0
	}
	return min(int((1-f)*float64(termLen)), 2)
}

// withinEdits reports whether the optimal-string-alignment distance between
// a and b is at most max.
func withinEdits(a []rune, bs string, max int) bool {
	if d := len(a) - utf8.RuneCountInString(bs); d > max || -d > max {
		return false
	}
	b := []rune(bs)
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > max {
			return false
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)] <= max
}

// phraseHit matches a phrase. Fielded, its first word must be the first
// token of a value of the field (the one with the prefix); bare, it can only
// fall on the later words of a value.
func (e *evaluator) phraseHit(p *Phrase) bool {
	slop := 0
	if p.Fuzzy {
		// Lucene truncates "~2.5" to 2 and ignores a bare "~".
		if f, err := strconv.ParseFloat(p.Slop, 64); err == nil {
			slop = int(f)
		}
	}
	var toks []string
	if p.Field != "" {
		for _, v := range e.doc[p.field] {
			first, rest := splitFirst(v)
			toks = append(append(toks[:0], first), strings.FieldsFunc(rest, isIndexSpace)...)
			if phraseAt(toks, p.words, slop, true) {
				return true
			}
		}
		return false
	}
	for _, vs := range e.doc {
		for _, v := range vs {
			_, rest := splitFirst(v)
			toks = strings.FieldsFunc(rest, isIndexSpace)
			if phraseAt(toks, p.words, slop, false) {
				return true
			}
		}
	}
	return false
}

// phraseAt reports whether words occur in toks as Lucene's phrase query
// would find them: in sequence for slop 0, else with the spread of their
// position offsets (position minus index in the phrase) at most slop.
// Anchored pins the first word to the first token.
func phraseAt(toks, words []string, slop int, anchored bool) bool {
	if anchored && (len(toks) == 0 || toks[0] != words[0]) {
		return false
	}
	if slop == 0 {
		last := len(toks) - len(words)
		if anchored {
			last = min(last, 0)
		}
		for i := 0; i <= last; i++ {
			if slices.Equal(toks[i:i+len(words)], words) {
				return true
			}
		}
		return false
	}
	type cand struct{ off, word int }
	var cands []cand
	for w, word := range words {
		found := false
		for i, t := range toks {
			// Anchored, only the first word can be the prefixed token.
			if t == word && (!anchored || (i == 0) == (w == 0)) {
				cands = append(cands, cand{i - w, w})
				found = true
			}
		}
		if !found {
			return false
		}
	}
	// Smallest window over the sorted offsets holding one of each word.
	sort.Slice(cands, func(i, j int) bool { return cands[i].off < cands[j].off })
	count := make([]int, len(words))
	have, left := 0, 0
	for _, c := range cands {
		if count[c.word]++; count[c.word] == 1 {
			have++
		}
		for have == len(words) {
			if c.off-cands[left].off <= slop {
				return true
			}
			if count[cands[left].word]--; count[cands[left].word] == 0 {
				have--
			}
			left++
		}
	}
	return false
}

// rangeHit compares strings, as Lucene compares the terms "field__=__lo" and
// "field__=__hi" with every token: the shared prefix makes comparing the
// values alone the same thing. An open upper bound is erchef's "\ufff0".
func (e *evaluator) rangeHit(r *Range) bool {
	if r.Lo == "*" && r.Hi == "*" {
		// erchef sends "field__=__*", a wildcard query, and there the
		// field's own wildcards do count.
		return e.values(r.fieldPat, func(string) bool { return true })
	}
	lo, hi := r.lo, r.hi
	if r.Lo == "*" {
		lo = ""
	}
	if r.Hi == "*" {
		hi = "\ufff0"
	}
	for _, v := range e.doc[r.field] {
		w, _ := splitFirst(v)
		if (w > lo || r.Inclusive && w == lo) && (w < hi || r.Inclusive && w == hi) {
			return true
		}
	}
	return false
}
