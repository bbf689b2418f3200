package query

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that rejections are well-formed
// SyntaxErrors, and that an accepted query prints to a string that parses
// back to the same query (same String, same verdict on a document).
func FuzzParse(f *testing.F) {
	for _, c := range loadQueries(f) {
		f.Add(c.Q)
	}
	doc := Doc{
		"name":      {"web-01"},
		"role":      {"web", "base"},
		"comment":   {"Charlie the Unicorn"},
		"empty":     {""},
		"ver":       {"2.10.0"},
		"key(abc":   {"hello!world"},
		"ohai_time": {"1795348487.52"},
	}
	known := func(f string) bool { return f == "name" || f == "role" }
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %T %v", s, err, err)
			}
			if se.Pos < 0 || se.Pos > len(s) || se.Msg == "" {
				t.Fatalf("Parse(%q): bad error %#v", s, se)
			}
			return
		}
		out := q.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", s, out, err)
		}
		if out2 := again.String(); out2 != out {
			t.Fatalf("Parse(%q): String() %q, then %q", s, out, out2)
		}
		if q.Match(doc) != again.Match(doc) {
			t.Fatalf("Parse(%q) and Parse(%q) disagree on a document", s, out)
		}
		if m, _ := q.MatchPartial(doc, known); q.Match(doc) && !m {
			t.Fatalf("%q: Match but not MatchPartial", s)
		}
		q.Fields()
		q.IsMatchAll()
	})
}
