package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The character classes below are chef_lucene.peg's, byte for byte, widened
// to Unicode letters: erchef's grammar is ASCII-only and answers 400 to
// "site:Zürich*", but node data holds such values and goiardi (and Solr
// behind erchef, given the bytes) finds them. Shearch's grammar is therefore
// a superset of erchef's: every query erchef accepts parses the same way,
// and a UTF-8 letter is accepted wherever an ASCII letter is.

// isStart is start_letter's class: what a term or field name may begin with.
// '?' is missing on purpose: a leading '?' is a 400 on Chef Server.
func isStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '*' || c == '/'
}

// isRest is the class of valid_letter's tail, a superset of isStart.
func isRest(c byte) bool {
	return isStart(c) || c == '?' || c == '@' || c == '+' || c == '-'
}

// isSpecial is special_char: the only bytes a backslash may escape.
func isSpecial(c byte) bool {
	return strings.IndexByte(`[]\/"!(){}^~*?:`, c) >= 0
}

// isSpace is the grammar's space: a newline is not whitespace to erchef.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// specialChars lists isSpecial's bytes for error messages.
const specialChars = `[ ] \ / " ! ( ) { } ^ ~ * ? :`

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// escapeAt reports whether s[i:] is a backslash escape the grammar allows.
func escapeAt(s string, i int) bool {
	return i+1 < len(s) && s[i] == '\\' && isSpecial(s[i+1])
}

// unicodeLetterAt returns the size of the non-ASCII letter at s[i] (a
// combining mark too when mark is set, for decomposed text such as
// "Zu\u0308rich"), or 0. Invalid UTF-8 is never a letter.
func unicodeLetterAt(s string, i int, mark bool) int {
	if i >= len(s) || s[i] < utf8.RuneSelf {
		return 0
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError || !(unicode.IsLetter(r) || mark && unicode.IsMark(r)) {
		return 0
	}
	return size
}

// scanLetters matches valid_letter+ at i and returns its end, or -1. The
// repetition adds nothing: one valid_letter already takes every byte a
// second one could start with, since isRest includes isStart.
func scanLetters(s string, i int) int {
	switch {
	case i < len(s) && isStart(s[i]):
		i++
	case escapeAt(s, i):
		i += 2
	case unicodeLetterAt(s, i, false) > 0:
		i += unicodeLetterAt(s, i, false)
	default:
		return -1
	}
	for i < len(s) {
		switch n := unicodeLetterAt(s, i, true); {
		case isRest(s[i]):
			i++
		case escapeAt(s, i):
			i += 2
		case n > 0:
			i += n
		default:
			return i
		}
	}
	return i
}

// keywordAt returns the keyword ("AND", "OR", "NOT") s[i:] starts with, even
// when more letters follow: the grammar's `keyword` is a bare prefix test.
func keywordAt(s string, i int) string {
	for _, k := range [...]string{"AND", "OR", "NOT"} {
		if strings.HasPrefix(s[i:], k) {
			return k
		}
	}
	return ""
}

// scanTerm matches `term <- keyword valid_letter+ / !keyword valid_letter+`.
// After a keyword prefix the rest must itself start a valid_letter, so
// "ANDX" and "AND.x" are terms but "AND-x" and "AND" are not.
func scanTerm(s string, i int) int {
	if k := keywordAt(s, i); k != "" {
		return scanLetters(s, i+len(k))
	}
	return scanLetters(s, i)
}

// scanFieldName matches `field_name <- !keyword valid_letter+`: no field name
// may begin with an upper-case keyword (ORDER:x, NOTE:x are 400s).
func scanFieldName(s string, i int) int {
	if keywordAt(s, i) != "" {
		return -1
	}
	return scanLetters(s, i)
}

// boolOpAt matches bool_op. Like keywordAt it is a prefix test, which is why
// erchef reads "a ORDER:x" as "a OR DER:x".
func boolOpAt(s string, i int) string {
	for _, op := range [...]string{"AND", "&&", "OR", "||"} {
		if strings.HasPrefix(s[i:], op) {
			return op
		}
	}
	return ""
}

// scanNumber matches fuzzy_param, `[0-9]+ ('.' [0-9])?`: one decimal digit
// at most, so "word~0.55" is "word~0.5" followed by the term "5".
func scanNumber(s string, i int) int {
	j := i
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	if j+1 < len(s) && s[j] == '.' && '0' <= s[j+1] && s[j+1] <= '9' {
		j += 2
	}
	return j
}

// unescape drops the backslash of every escape; Lucene does the same to the
// text erchef hands it.
func unescape(raw string) string {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

// Glob tokens: runes stand for themselves, these two for the wildcards. Both
// are negative, so no rune collides with them.
const (
	anyRunes = -1 // '*'
	anyRune  = -2 // '?'
)

// pattern is a term or field name compiled for matching. An escaped '*' or
// '?' is literal, so the unescaped text alone cannot tell wildcards apart.
type pattern struct {
	lit  string  // unescaped text
	glob []int32 // nil when the text has no wildcard
}

func compile(raw string) pattern {
	p := pattern{lit: unescape(raw)}
	if !strings.ContainsAny(raw, "*?") {
		return p
	}
	glob := make([]int32, 0, len(raw))
	wild := false
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			glob = append(glob, int32(raw[i+1]))
			i += 2
			continue
		case c == '*':
			wild = true
			if n := len(glob); n == 0 || glob[n-1] != anyRunes {
				glob = append(glob, anyRunes)
			}
		case c == '?':
			wild = true
			glob = append(glob, anyRune)
		default:
			r, size := utf8.DecodeRuneInString(raw[i:])
			glob = append(glob, r)
			i += size
			continue
		}
		i++
	}
	if wild {
		p.glob = glob
	}
	return p
}

func (p pattern) wild() bool { return p.glob != nil }

func (p pattern) match(s string) bool {
	if p.glob == nil {
		return p.lit == s
	}
	return globMatch(p.glob, s)
}

// globMatch is the usual greedy matcher that backtracks to the last '*'. It
// works on runes, as Lucene's wildcard automaton does on code points.
func globMatch(p []int32, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if pi < len(p) {
			switch {
			case p[pi] == anyRunes:
				star, mark = pi, si
				pi++
				continue
			case p[pi] == anyRune || p[pi] == r:
				pi++
				si += size
				continue
			}
		}
		if star < 0 {
			return false
		}
		_, size = utf8.DecodeRuneInString(s[mark:])
		mark += size
		si, pi = mark, star+1
	}
	for pi < len(p) && p[pi] == anyRunes {
		pi++
	}
	return pi == len(p)
}

// isIndexSpace is Java's Character.isWhitespace, which Lucene's
// WhitespaceTokenizer splits the indexed text on: Unicode separators except
// the no-break ones, plus the ASCII controls Java counts as whitespace.
func isIndexSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	case 0xa0, 0x2007, 0x202f:
		return false
	}
	return r > 0x7f && unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) || r == ' '
}

// splitFirst splits an indexed value into its first token, the one that
// carries the "key__=__" prefix, and the rest, whose tokens stand alone in
// the index. A value that starts with whitespace has an empty first token.
func splitFirst(v string) (first, rest string) {
	for i, r := range v {
		if isIndexSpace(r) {
			return v[:i], v[i:]
		}
	}
	return v, ""
}
