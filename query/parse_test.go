package query

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// The shared corpus lives at the repository root; tests read it in place.
const corpusDir = "../testdata/chef-queries/"

type queryCase struct {
	Q      string `json:"q"`
	Valid  bool   `json:"valid"`
	Source string `json:"source"`
	Note   string `json:"note"`
}

func loadQueries(t testing.TB) []queryCase {
	t.Helper()
	var cases []queryCase
	readJSON(t, corpusDir+"queries.json", &cases)
	if len(cases) == 0 {
		t.Fatal("queries.json is empty")
	}
	return cases
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkParse asserts that q parses exactly when valid, that a rejection is
// a *SyntaxError inside the query, and that an accepted query prints back
// to itself.
func checkParse(t *testing.T, q string, valid bool) {
	t.Helper()
	res, err := Parse(q)
	if valid {
		if err != nil {
			t.Errorf("Parse(%q): %v; Chef accepts it", q, err)
			return
		}
		checkRoundTrip(t, q, res)
		return
	}
	if err == nil {
		t.Errorf("Parse(%q) = %q; Chef rejects it", q, res)
		return
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("Parse(%q): %T, want *SyntaxError", q, err)
		return
	}
	if se.Pos < 0 || se.Pos > len(q) || se.Msg == "" || !strings.HasPrefix(err.Error(), "bad query at position ") {
		t.Errorf("Parse(%q): malformed error %#v", q, se)
	}
}

func checkRoundTrip(t *testing.T, q string, res *Query) {
	t.Helper()
	s := res.String()
	again, err := Parse(s)
	if err != nil {
		t.Errorf("Parse(%q).String() = %q, which does not parse: %v", q, s, err)
		return
	}
	if s2 := again.String(); s2 != s {
		t.Errorf("String() not stable for %q: %q then %q", q, s, s2)
	}
}

func TestQueriesJSON(t *testing.T) {
	agree, valid, invalid := 0, 0, 0
	for _, c := range loadQueries(t) {
		if c.Valid {
			valid++
		} else {
			invalid++
		}
		ok := t.Run(c.Q, func(t *testing.T) {
			checkParse(t, c.Q, c.Valid)
			if t.Failed() {
				t.Logf("source %s: %s", c.Source, c.Note)
			}
		})
		if ok {
			agree++
		}
	}
	t.Logf("queries.json: %d of %d agree (%d valid, %d invalid)", agree, valid+invalid, valid, invalid)
}

// TestDerivedTable is the README's table of queries derived from the erchef
// grammar, minus the rows whose outcome it leaves open.
func TestDerivedTable(t *testing.T) {
	reject := []string{
		"NOT a AND b", "-a AND b", "!a AND b", "NOT a OR b",
		"*:* AND foo", "(*:* OR a)", "*:*foo",
		"AND foo", "-", "+", "!", "!!a", "NOT NOT a", "- a", "a - b", "a:-b", `a:""`, "foo:", "*:", "?",
		"(a", "a)", "((a)", "a:b)", `"unterminated`, "ohai_time:[1 TO 2", "a:[b TO]", "[a TO b]",
		"a&b", "foo:bar:baz", "ORDER:x", "NOTE:x", "@a",
		"role:web\nrole:db",
	}
	accept := []string{
		"(NOT a) AND b", "a AND (NOT b) AND c",
		"foo AND *:*", "(*:*)",
		"foo AND", "foo OR", "name:[a TO b] AND",
		"a&&b", " ", "()", "name:foo bar", "a:(b OR c)",
		// The table rejects it; Shearch accepts UTF-8 letters on purpose
		// (see TestUnicodeLetters).
		"blè:*",
	}
	for _, q := range reject {
		t.Run(q, func(t *testing.T) { checkParse(t, q, false) })
	}
	for _, q := range accept {
		t.Run(q, func(t *testing.T) { checkParse(t, q, true) })
	}
}

// TestGrammarCorners pins down consequences of PEG's ordered choice that a
// Lucene-style parser would get wrong.
func TestGrammarCorners(t *testing.T) {
	for _, c := range []struct {
		q     string
		valid bool
	}{
		{"", false},
		{"a AND NOT b", true},
		{"a AND NOT b AND c", false},
		{"x AND (NOT y) AND (NOT z)", true},
		{`"a b" AND c`, false}, // a bare phrase is not a binary_op operand
		{`a:"b c" AND d`, true},
		{`("a b") AND c`, true},
		{`"a b" c`, true},
		{"a~ AND b", false}, // nor is a fuzzy term
		{"a:b~ AND c", true},
		{"a^2 AND b", false},
		{"a^2", true},
		{"a:b^2", false}, // boost only on bare terms
		{`a:"b c"~2`, false},
		{`NOT a:"b c"~2`, true}, // not_op takes field, whose arg may be fuzzy
		{`-a:"b c"~2`, true},
		{"+a", true},
		{"+a:b", false}, // required_op takes only term / string
		{`+"a b"`, true},
		{"-(a)", false}, // prohibited_op takes no group
		{"!(a)", true},
		{"NOT (a)", true},
		{"NOT(a)", false},
		{"a ANDb", true}, // bool_op is a prefix test: a AND b
		{"a ORDER:x", true},
		{"ANDX", true},
		{"AND-x", false},
		{"AND.x", true},
		{"ORDER", true},
		{"oRDER:x", true},
		{`"a AND b"`, false},
		{`"a ANDb"`, true},
		{`" a"`, false},
		{`"a "`, false},
		{"\"a\t\tb\"", true},
		{"word~0.55", true},
		{"a:[*foo TO b]", false},
		{"a:[foo* TO b]", true},
		{"a:[a TO b}", false},
		{"a:[a  TO b]", false},
		{"a:[a\\: TO b]", true},
		{"*:* ", false},
		{"( *:* )", true},
		{"(*:* )", false},
		{" *:*", true},
		{" *:* AND foo", true}, // a field named * here, not star_star
		{"foo AND *:* bar", true},
		{"(a)(b)", true},
		{"a(b)", true},
		{"a\"b c\"", true},
		{"a\\", false},
		{"a b\r", false},
		{"a\tb", true},
		{"a AND\tb", true},
		{"a AND AND b", false},
		{"((((((((((a))))))))))", true},
		{strings.Repeat("(", maxDepth) + "a" + strings.Repeat(")", maxDepth), true},
		{strings.Repeat("(", maxDepth+1) + "a" + strings.Repeat(")", maxDepth+1), false},
	} {
		t.Run(c.q, func(t *testing.T) { checkParse(t, c.q, c.valid) })
	}
}

func TestSyntaxErrorMessages(t *testing.T) {
	for _, c := range []struct {
		q    string
		pos  int
		want string
	}{
		{"x AND NOT y AND NOT z", 12, `the negated clause "NOT y" cannot be the left operand of AND; wrap each NOT clause in parentheses: x AND (NOT y) AND (NOT z)`},
		{"ossec:[* TO *] AND chef_environment:_default AND NOT role:ossec-server AND NOT fqdn:myfqdn", 71,
			"wrap each NOT clause in parentheses: ossec:[* TO *] AND chef_environment:_default AND (NOT role:ossec-server) AND (NOT fqdn:myfqdn)"},
		{"NOT a AND b", 6, "(NOT a) AND b"},
		{"a AND (b OR c", 6, `unbalanced "("`},
		{"(a", 0, `unbalanced "("`},
		{"a)", 1, `unbalanced ")"`},
		{`a:"b c`, 2, "unbalanced quote"},
		{"ohai_time:[0 to 1488474332]", 13, `"TO" in a range must be upper-case`},
		{"ohai_time:[1 TO 2", 10, `unbalanced "["`},
		{"a:[1 TO 2}", 9, `must close with "]"`},
		{"foo\\bar", 3, `"\b" is not an escape`},
		{"a\\", 1, "backslash"},
		{"foo:bar:baz", 7, `escape it as "\:"`},
		{"ORDER:x", 0, `upper-case "OR"`},
		{"a - b", 2, "no space"},
		{"role:web\nrole:db", 8, "line breaks"},
		{"*:* AND foo", 0, "(*:*) AND foo"},
		{`"a b" AND c`, 6, `("a b") AND c`},
		{"", 0, "empty query"},
		{"foo^", 3, "needs a number"},
		{"afield:?foobar", 7, `cannot start with "?"`},
		{"a[b", 1, `escape it as "\["`},
		{"foo AND OR bar", 8, `"OR" right after "AND"`},
		{"price:5€", 7, `unexpected "€": a term holds letters (any script)`},
		{"a:\xff", 2, "invalid UTF-8"},
		{"+a:b", 0, `"+" only on a bare term or phrase`},
		{"-(a)", 0, "NOT (...)"},
		{`":not:a:term"`, 1, `unescaped ":" in a phrase`},
		{`a:""`, 2, "empty phrase"},
		{"a:=", 2, "cannot appear in a query term"},
	} {
		_, err := Parse(c.q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", c.q, err)
			continue
		}
		if se.Pos != c.pos || !strings.Contains(se.Msg, c.want) {
			t.Errorf("Parse(%q):\n got %v\nwant position %d, message containing %q", c.q, err, c.pos, c.want)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"a&&b", "a && b"},
		{"  a   OR\tb  ", "a OR b"},
		{"a ! \"b c\"", `a !"b c"`},
		{" *:*", " *:*"},
		{"( *:*)", "( *:*)"},
		{" *:*~ foo", " *:*~ foo"},
		{"*:*", "*:*"},
		{"(*:*)", "(*:*)"},
		{"foo AND *:*bar", "foo AND *:* bar"},
		{"word~0.55", "word~0.5 5"},
		{"a ORDER:x", "a OR DER:x"},
		{" ", " "},
		{"()", "()"},
		{"foo AND ", "foo AND"},
		{"(foo || )", "(foo ||)"},
		{`NOT a:"b  c"~2`, `NOT a:"b c"~2`},
		{"a:(b OR c)^2", ""},
		{"-a:[x TO *] +\"p q\" \"u v\"^3 r~ s:t~1", "-a:[x TO *] +\"p q\" \"u v\"^3 r~ s:t~1"},
		{"+\"p q\"^3", ""},
	} {
		q, err := Parse(c.in)
		if c.out == "" {
			if err == nil {
				t.Errorf("Parse(%q) accepted", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := q.String(); got != c.out {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.out)
		}
		checkRoundTrip(t, c.in, q)
	}
}

// TestLuceneOccurs checks how clauses combine: erchef passes the operators
// through to Lucene, whose parser does not give AND precedence over OR.
func TestLuceneOccurs(t *testing.T) {
	names := map[occur]string{should: "", must: "+", mustNot: "-"}
	for _, c := range []struct{ q, want string }{
		{"a b", "a b"},
		{"a AND b", "+a +b"},
		{"a OR b AND c", "a +b +c"},
		{"a AND b OR c", "+a +b c"},
		{"t1 AND t2 OR t3 AND t4", "+t1 +t2 +t3 +t4"},
		{"a AND NOT b", "+a -b"},
		{"a NOT b", "a -b"},
		{"a OR NOT b", "a -b"},
		{"-a b", "-a b"},
		{"+a b", "+a b"},
		{"a:(b OR c)", "a: (b OR c)"},
		{"x AND a:(b)", "+x +a: (b)"},
	} {
		q, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		var parts []string
		for _, lc := range q.lucene {
			var b strings.Builder
			lc.node.write(&b)
			parts = append(parts, names[lc.occ]+b.String())
		}
		if got := strings.Join(parts, " "); got != c.want {
			t.Errorf("%q: Lucene clauses %q, want %q", c.q, got, c.want)
		}
	}
}

func TestFields(t *testing.T) {
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"*:*", nil},
		{"bare terms only", nil},
		{"role:web AND (recipes:nginx OR tags:foo) NOT role:web", []string{"role", "recipes", "tags"}},
		{"platfo*:ubuntu *:x", []string{"platfo*", "*"}},
		{`key\(abc:v a:"b c" r:[1 TO 2] g:(x)`, []string{"key(abc", "a", "r", "g"}},
	} {
		q, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		if got := q.Fields(); !slices.Equal(got, c.want) {
			t.Errorf("Fields(%q) = %q, want %q", c.q, got, c.want)
		}
	}
}

func TestIsMatchAll(t *testing.T) {
	for q, want := range map[string]bool{
		"*:*":         true,
		"(*:*)":       true,
		"((*:*))":     true,
		" *:*":        false, // the field * with the value *
		"foo AND *:*": false,
		"NOT (*:*)":   false,
		"name:*":      false,
	} {
		p, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		if got := p.IsMatchAll(); got != want {
			t.Errorf("IsMatchAll(%q) = %v, want %v", q, got, want)
		}
	}
}
