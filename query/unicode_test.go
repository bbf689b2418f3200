package query

import (
	"errors"
	"strings"
	"testing"
)

// TestUnicodeLetters: a UTF-8 letter is accepted wherever chef_lucene.peg
// accepts an ASCII letter (start_letter and valid_letter), so Shearch's
// grammar is a superset of erchef's. erchef answers 400 to every query
// below (its classes are ASCII ranges, chef_lucene.peg); goiardi takes them
// and finds the values (fixture node monitor01: site "Zürich DC-2", owner
// "Zoë Ångström").
func TestUnicodeLetters(t *testing.T) {
	doc := Doc{"site": {"Zürich DC-2"}, "owner": {"Zoë Ångström"}, "größe": {"10"}, "name": {"monitor01"}}
	for _, c := range []struct {
		q     string
		str   string // Query.String()
		match bool
	}{
		{"site:Zürich*", "site:Zürich*", true},
		{"site:Zürich", "site:Zürich", true},
		{"site:zürich*", "site:zürich*", false}, // case-sensitive, as goiardi and erchef's keyword fields
		{"site:Z?rich*", "site:Z?rich*", true},
		{"Zürich*", "Zürich*", false}, // a bare term is matched against the content field, not "site"
		{`owner:"Zoë Ångström"`, `owner:"Zoë Ångström"`, true},
		{"owner:Zoë*", "owner:Zoë*", true},
		{"größe:10", "größe:10", true},
		{"site:東京", "site:東京", false},
		{"ёлка", "ёлка", false},
		{"site:Zu\u0308rich*", "site:Zu\u0308rich*", false}, // decomposed ü: a mark continues the term; the bytes differ
		{"name:monitor01 AND site:Zürich*", "name:monitor01 AND site:Zürich*", true},
		{"site:[Za TO Züzz]", "site:[Za TO Züzz]", true}, // byte order: "ü" sorts after "z"
		{"site:[Zürich TO Zz]", "site:[Zürich TO Zz]", false},
		{"site:Zürich~", "site:Zürich~", true},
	} {
		q, err := Parse(c.q)
		if err != nil {
			t.Errorf("Parse(%q): %v; want accepted", c.q, err)
			continue
		}
		if got := q.String(); got != c.str {
			t.Errorf("Parse(%q).String() = %q, want %q", c.q, got, c.str)
		}
		if got := q.Match(doc); got != c.match {
			t.Errorf("Parse(%q).Match = %v, want %v", c.q, got, c.match)
		}
	}
	// Still refused: what is not a letter in any script, a mark with no
	// letter before it, and bytes that are not UTF-8.
	for _, c := range []struct {
		q    string
		pos  int
		want string
	}{
		{"price:5€", 7, `unexpected "€"`},
		{"site:\u0308x", 5, "unexpected \"\u0308\""},
		{"site:\xffZ", 5, "invalid UTF-8"},
		{"site:Z\xff", 6, "invalid UTF-8"},
		{"😀:x", 0, `unexpected "😀"`},
	} {
		_, err := Parse(c.q)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Pos != c.pos || !strings.Contains(se.Msg, c.want) {
			t.Errorf("Parse(%q) = %v; want a SyntaxError at %d containing %q", c.q, err, c.pos, c.want)
		}
	}
}
