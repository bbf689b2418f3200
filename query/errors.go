package query

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// explain turns the place where the grammar stopped into a SyntaxError that
// says why, in the user's terms. q is the (sub)query parsed up to stop; open
// is the position of the "(" that began it, or -1 at the top level. The
// grammar itself only ever knows "stopped here", so this works backwards from
// what was parsed before stop and what is at stop.
func (p *parser) explain(q *Query, stop, open int) *SyntaxError {
	s := p.s
	if stop >= len(s) {
		return errAt(open, `unbalanced "(": add the missing ")"`)
	}
	var last *Clause
	if n := len(q.Clauses); n > 0 && q.Dangling == "" {
		last = &q.Clauses[n-1]
	}
	touching := last != nil && last.end == stop
	adjacent := last != nil && skipSpace(s, last.end) == stop

	if last != nil && touching {
		if _, all := last.Node.(*MatchAll); all {
			return p.wrapError(last.pos, last, `"*:*" must be all of its (sub)query`, "put it in parentheses")
		}
	}
	c := s[stop]
	switch {
	case c == '\n' || c == '\r':
		return errAt(stop, "a query cannot contain line breaks; join the lines with spaces (or OR)")
	case c == ')':
		return errAt(stop, `unbalanced ")": remove it or add the matching "("`)
	case c == '(':
		sub, end := p.query(stop + 1)
		return p.explain(sub, end, stop)
	case boolOpAt(s, stop) != "":
		return p.explainOp(q, stop, last, adjacent)
	case strings.HasPrefix(s[stop:], "NOT"):
		if stop+3 < len(s) && !isSpace(s[stop+3]) && s[stop+3] != ')' {
			return errAt(stop, `"NOT" must be followed by a space (or use "!", as in !(a OR b))`)
		}
		return p.explainOperand(skipSpace(s, stop+3), "NOT", stop)
	case c == '!':
		return p.explainOperand(skipSpace(s, stop+1), "!", stop)
	case c == '+' || c == '-':
		return p.explainOperand(stop+1, string(c), stop)
	case c == ':' && touching:
		return p.explainColon(last, stop)
	case c == '^' && touching:
		if stop+1 >= len(s) || s[stop+1] < '0' || s[stop+1] > '9' {
			return errAt(stop, `"^" needs a number, as in word^2`)
		}
		return errAt(stop, fmt.Sprintf("a boost (^N) is accepted only on a bare term or phrase, not on %s", show(s[last.pos:last.end])))
	case c == '~' && touching:
		if ph, ok := last.Node.(*Phrase); ok && ph.Field != "" && last.Mod == "" {
			return errAt(stop, `Chef Server's grammar rejects a proximity "~" after field:"phrase" (except in a NOT or - clause)`)
		}
		return errAt(stop, `"~" can only follow a term or phrase`)
	case (c == '[' || c == ']' || c == '{' || c == '}') && touching:
		return errAt(stop, fmt.Sprintf(`unescaped %q in a term; escape it as "\%c"`, string(c), c))
	}
	return p.explainStart(stop)
}

// explainOp explains a bool operator the grammar could not take: erchef's
// binary_op only has a group, a field, a range or a plain term on its left.
func (p *parser) explainOp(q *Query, stop int, last *Clause, adjacent bool) *SyntaxError {
	op := boolOpAt(p.s, stop)
	if q.Dangling != "" {
		return errAt(stop, fmt.Sprintf("%q right after %q: an operand is missing between them", op, q.Dangling))
	}
	if last == nil || !adjacent {
		return errAt(stop, fmt.Sprintf("%q needs an operand on its left", op))
	}
	text := p.s[last.pos:last.end]
	switch n := last.Node.(type) {
	case *Term:
		if last.Mod == "" && (n.Fuzzy || n.Boost != "") {
			return p.wrapError(stop, last, fmt.Sprintf("the fuzzy or boosted term %s cannot be the left operand of %s", show(text), op), "put it in parentheses")
		}
	case *Phrase:
		if last.Mod == "" {
			return p.wrapError(stop, last, fmt.Sprintf("the phrase %s cannot be the left operand of %s", show(text), op), "put it in parentheses")
		}
	}
	switch last.Mod {
	case "NOT", "!", "-":
		e := p.wrapError(stop, last, fmt.Sprintf("the negated clause %s cannot be the left operand of %s", show(text), op), "wrap each NOT clause in parentheses")
		e.neg = true
		return e
	case "+":
		return p.wrapError(stop, last, fmt.Sprintf("the required clause %s cannot be the left operand of %s", show(text), op), "put it in parentheses")
	}
	return errAt(stop, fmt.Sprintf("unexpected %q", op))
}

// wrapError reports a clause that is fine alone but not where it stands. The
// fix, the whole query with every such clause parenthesised, is appended by
// the caller once the error's kind is settled (see withFix).
func (p *parser) wrapError(pos int, c *Clause, msg, fix string) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: msg + "; " + fix, wrap: [2]int{c.pos, c.end}}
}

// withFix appends the fixed query to a wrap error's message.
func (p *parser) withFix(e *SyntaxError) *SyntaxError {
	if p.suggest && e.wrap != [2]int{} {
		if fixed := suggestWraps(p.s); fixed != "" {
			e.Msg += ": " + fixed
		}
	}
	return e
}

// suggestWraps parenthesises offending clauses one at a time until the query
// parses, and gives up (returns "") on any other kind of error. When a NOT
// clause needed it, the NOT clauses after an operator get parentheses too:
// the fix then reads like the documented one, `x AND (NOT y) AND (NOT z)`,
// and means the same, a negative group being "everything minus" in Chef.
func suggestWraps(s string) string {
	neg := false
	for range 64 {
		q, err := parse(s, false)
		if err == nil {
			if neg {
				s = wrapNegatedOperands(s, q)
			}
			return s
		}
		if err.wrap == [2]int{} {
			return ""
		}
		neg = neg || err.neg
		s = wrapSpan(s, err.wrap)
	}
	return ""
}

func wrapSpan(s string, span [2]int) string {
	return s[:span[0]] + "(" + s[span[0]:span[1]] + ")" + s[span[1]:]
}

func wrapNegatedOperands(s string, q *Query) string {
	var spans [][2]int
	var walk func(q *Query)
	walk = func(q *Query) {
		for _, c := range q.Clauses {
			switch {
			case c.Op != "" && (c.Mod == "NOT" || c.Mod == "!" || c.Mod == "-"):
				spans = append(spans, [2]int{c.pos, c.end})
			case c.Mod == "":
				if g, ok := c.Node.(*Group); ok {
					walk(g.Sub)
				}
			}
		}
	}
	walk(q)
	// Right to left, so earlier offsets stay valid.
	for i := len(spans) - 1; i >= 0; i-- {
		s = wrapSpan(s, spans[i])
	}
	if _, err := parse(s, false); err != nil {
		return ""
	}
	return s
}

// explainOperand explains a NOT, !, + or - at opPos whose operand, at i,
// did not parse.
func (p *parser) explainOperand(i int, op string, opPos int) *SyntaxError {
	s := p.s
	if i >= len(s) || s[i] == ')' {
		return errAt(opPos, fmt.Sprintf("%q needs something to apply to", op))
	}
	if (op == "+" || op == "-") && isSpace(s[i]) {
		return errAt(opPos, fmt.Sprintf("%q must be followed immediately by its operand, with no space", op))
	}
	if k := keywordAt(s, i); k == "NOT" || s[i] == '!' || s[i] == '+' || s[i] == '-' || boolOpAt(s, i) != "" {
		return errAt(i, fmt.Sprintf("%q cannot be followed by another operator", op))
	}
	switch {
	case op == "+" && (s[i] == '(' || scanFieldName(s, i) >= 0):
		return errAt(opPos, `Chef Server accepts "+" only on a bare term or phrase; use AND for fields and groups`)
	case op == "-" && s[i] == '(':
		return errAt(opPos, `Chef Server does not accept "-" on a group; use NOT (...) instead`)
	case op == "+" && s[i] == '"':
		return p.explainStart(i)
	}
	if s[i] == '(' {
		sub, end := p.query(i + 1)
		return p.explain(sub, end, i)
	}
	return p.explainStart(i)
}

// explainColon explains a ":" right after a clause, which means the clause
// could not be read as field:value.
func (p *parser) explainColon(last *Clause, stop int) *SyntaxError {
	n, ok := last.Node.(*Term)
	if !ok {
		return errAt(stop, fmt.Sprintf(`unexpected ":" after %s`, show(p.s[last.pos:last.end])))
	}
	switch {
	case n.Field != "" || n.Fuzzy || n.Boost != "":
		return errAt(stop, `unescaped ":" in a value; escape it as "\:"`)
	case last.Mod == "+":
		return errAt(last.pos, `Chef Server accepts "+" only on a bare term or phrase; use AND to require a field`)
	}
	if k := keywordAt(p.s, last.pos+len(last.Mod)); k != "" {
		return errAt(last.pos+len(last.Mod), fmt.Sprintf("a field name cannot start with upper-case %q (an operator)", k))
	}
	return p.explainValue(stop + 1)
}

// explainValue explains why what follows "field:" at i is not a value.
func (p *parser) explainValue(i int) *SyntaxError {
	s := p.s
	if i >= len(s) || isSpace(s[i]) {
		return errAt(i, `missing value after ":" (field:* finds the objects that have the field)`)
	}
	switch c := s[i]; c {
	case '[', '{':
		if e := p.explainRange(i); e != nil {
			return e
		}
	case '"':
		if e := p.explainPhrase(i); e != nil {
			return e
		}
	case '(':
		sub, end := p.query(i + 1)
		return p.explain(sub, end, i)
	case '-', '+', '@', '?', '!':
		return errAt(i, fmt.Sprintf("a value cannot start with %q", string(c)))
	}
	return p.explainStart(i)
}

// explainRange explains a malformed field:[lo TO hi] whose bracket is at i.
func (p *parser) explainRange(i int) *SyntaxError {
	s := p.s
	closing := byte(']')
	if s[i] == '{' {
		closing = '}'
	}
	lo := scanRangeEntry(s, i+1)
	if lo < 0 {
		return errAt(i+1, `a range bound must be "*" or a term, as in field:[a TO b]`)
	}
	if !strings.HasPrefix(s[lo:], " TO ") {
		rest := strings.TrimLeft(s[lo:], " \t")
		switch {
		case s[i+1] == '*' && lo < len(s) && !isSpace(s[lo]):
			return errAt(i+1, `a range bound is either "*" or a term that does not start with "*"`)
		case len(rest) >= 2 && strings.EqualFold(rest[:2], "TO") && rest[:2] != "TO":
			return errAt(len(s)-len(rest), `"TO" in a range must be upper-case`)
		case strings.HasPrefix(rest, "TO") && (len(rest) == 2 || rest[2] == ']' || rest[2] == '}'):
			return errAt(len(s)-len(rest)+2, `missing upper bound; use "*" for an open range, as in [a TO *]`)
		case strings.HasPrefix(rest, "TO"):
			return errAt(lo, `a range needs exactly one space on each side of "TO", as in [a TO b]`)
		case lo >= len(s):
			return errAt(i, fmt.Sprintf("unbalanced %q: a range is [a TO b] or {a TO b}", s[i:i+1]))
		}
		return errAt(lo, `expected " TO " in the range, as in field:[a TO b]`)
	}
	hi := scanRangeEntry(s, lo+4)
	switch {
	case hi < 0:
		return errAt(lo+4, `a range bound must be "*" or a term, as in field:[a TO b]`)
	case hi >= len(s):
		return errAt(i, fmt.Sprintf("unbalanced %q: close the range with %q", s[i:i+1], string(closing)))
	case s[hi] != closing && (s[hi] == ']' || s[hi] == '}'):
		return errAt(hi, fmt.Sprintf("a range opened with %q must close with %q", s[i:i+1], string(closing)))
	case s[hi] != closing:
		return errAt(hi, fmt.Sprintf("expected %q to close the range", string(closing)))
	}
	return nil
}

// explainPhrase explains a phrase starting at i, or returns nil if it is
// well-formed.
func (p *parser) explainPhrase(i int) *SyntaxError {
	s := p.s
	end := -1
	for k := i + 1; k < len(s); k++ {
		if s[k] == '\\' {
			k++
			continue
		}
		if s[k] == '"' {
			end = k
			break
		}
	}
	switch {
	case end < 0:
		return errAt(i, `unbalanced quote: add the closing "`)
	case end == i+1:
		return errAt(i, `empty phrase ""`)
	}
	for j := i + 1; ; {
		if isSpace(s[j]) {
			return errAt(j, "a phrase cannot start or end with a space")
		}
		t := scanTerm(s, j)
		if t < 0 {
			if k := keywordAt(s, j); k != "" {
				return errAt(j, fmt.Sprintf("%q cannot be a word of a phrase: Chef Server's grammar reads it as an operator", k))
			}
			return p.explainInPhrase(j)
		}
		if t == end {
			return nil
		}
		if !isSpace(s[t]) {
			return p.explainInPhrase(t)
		}
		j = skipSpace(s, t)
		if j == end {
			return errAt(t, "a phrase cannot start or end with a space")
		}
	}
}

func (p *parser) explainInPhrase(j int) *SyntaxError {
	c := p.s[j]
	switch {
	case c == '\\':
		return p.explainEscape(j)
	case isSpecial(c):
		return errAt(j, fmt.Sprintf(`unescaped %q in a phrase; escape it as "\%c"`, string(c), c))
	case c == '?' || c == '@' || c == '-' || c == '+':
		return errAt(j, fmt.Sprintf("a word cannot start with %q", string(c)))
	}
	return p.explainChar(j)
}

func (p *parser) explainEscape(i int) *SyntaxError {
	if i+1 >= len(p.s) {
		return errAt(i, "a query cannot end with a backslash")
	}
	return errAt(i, fmt.Sprintf(`"\%c" is not an escape Chef accepts; only these characters can be escaped: %s`, p.s[i+1], specialChars))
}

// explainStart explains why no clause can start at i.
func (p *parser) explainStart(i int) *SyntaxError {
	s := p.s
	switch c := s[i]; {
	case c == '"':
		if e := p.explainPhrase(i); e != nil {
			return e
		}
	case c == '[' || c == '{':
		return errAt(i, "a range needs a field name, as in field:[a TO b]")
	case c == ']' || c == '}':
		return errAt(i, fmt.Sprintf("unbalanced %q", string(c)))
	case c == '?':
		return errAt(i, `a term cannot start with "?"; put a character or "*" before it`)
	case c == '~':
		return errAt(i, `"~" must follow a term or phrase, as in word~`)
	case c == '^':
		return errAt(i, `"^" must follow a term or phrase, as in word^2`)
	case c == ':':
		return errAt(i, `field name missing before ":"`)
	case c == '\\':
		return p.explainEscape(i)
	case c == '@':
		return errAt(i, `a term cannot start with "@"`)
	case c == '&' || c == '|':
		return errAt(i, fmt.Sprintf("a single %q is not an operator; use %s", string(c), map[byte]string{'&': `"&&" or AND`, '|': `"||" or OR`}[c]))
	case c == ')':
		return errAt(i, `unbalanced ")": remove it or add the matching "("`)
	case c == '(':
		sub, end := p.query(i + 1)
		return p.explain(sub, end, i)
	case c == '\n' || c == '\r':
		return errAt(i, "a query cannot contain line breaks; join the lines with spaces (or OR)")
	case keywordAt(s, i) != "":
		return errAt(i, fmt.Sprintf("%q is an operator and needs an operand", keywordAt(s, i)))
	}
	return p.explainChar(i)
}

func (p *parser) explainChar(i int) *SyntaxError {
	c := p.s[i]
	if c >= utf8.RuneSelf {
		r, _ := utf8.DecodeRuneInString(p.s[i:])
		if r == utf8.RuneError {
			return errAt(i, "invalid UTF-8: send the query as UTF-8 text")
		}
		return errAt(i, fmt.Sprintf("unexpected %q: a term holds letters (any script), digits, "+
			`"_ . * / ? @ + -" and backslash-escaped `+specialChars+`; remove it or match it with "?"`, string(r)))
	}
	if isSpecial(c) {
		return errAt(i, fmt.Sprintf(`unexpected %q; escape it as "\%c" if it is part of a term`, string(c), c))
	}
	return errAt(i, fmt.Sprintf("unexpected %q: it cannot appear in a query term, escaped or not", string(c)))
}

func errAt(pos int, msg string) *SyntaxError { return &SyntaxError{Pos: pos, Msg: msg} }

// show quotes a piece of the query for a message; backquotes keep a phrase's
// own quotes readable.
func show(text string) string {
	if strings.ContainsRune(text, '"') {
		return "`" + text + "`"
	}
	return `"` + text + `"`
}
