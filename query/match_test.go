package query

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"testing"
)

type matchCase struct {
	Docs   map[string]map[string]any `json:"docs"`
	Q      string                    `json:"q"`
	Expect []string                  `json:"expect"`
	Mode   string                    `json:"mode"`
	Source string                    `json:"source"`
	Note   string                    `json:"note"`
}

// decodeNumbers reads JSON keeping numbers as json.Number, as Flatten
// prefers.
func decodeNumbers(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestMatchesJSON runs every query of matches.json over its documents. The
// documents are given as Chef indexes them, so they are flattened as is.
func TestMatchesJSON(t *testing.T) {
	var cases []matchCase
	decodeNumbers(t, corpusDir+"matches.json", &cases)
	if len(cases) == 0 {
		t.Fatal("matches.json is empty")
	}
	pass := 0
	for _, c := range cases {
		ok := t.Run(c.Q, func(t *testing.T) {
			q, err := Parse(c.Q)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for name, obj := range c.Docs {
				if q.Match(Flatten("", obj)) {
					got = append(got, name)
				}
			}
			sort.Strings(got)
			want := slices.Sorted(slices.Values(c.Expect))
			switch c.Mode {
			case "exact":
				if !slices.Equal(got, want) {
					t.Errorf("got %q, want exactly %q", got, want)
				}
			case "includes":
				for _, w := range want {
					if !slices.Contains(got, w) {
						t.Errorf("got %q, want it to include %q", got, w)
					}
				}
			case "count":
				if len(got) != len(want) {
					t.Errorf("got %d hits %q, want %d", len(got), got, len(want))
				}
				// The expected names are implied, not asserted, by the source.
				if !slices.Equal(got, want) {
					t.Logf("hits %q differ from the implied %q", got, want)
				}
			default:
				t.Fatalf("unknown mode %q", c.Mode)
			}
			if t.Failed() {
				t.Logf("source %s: %s", c.Source, c.Note)
			}
		})
		if ok {
			pass++
		}
	}
	t.Logf("matches.json: %d of %d pass", pass, len(cases))
}

func TestMatchSemantics(t *testing.T) {
	charlie := Doc{
		"id":                              {"charlie"},
		"comment":                         {"Charlie the Unicorn"},
		"shell":                           {"/bin/zsh"},
		"uid":                             {"1005"},
		"admin":                           {"true"},
		"empty":                           {""},
		"tags":                            {"foo", "frontend"},
		"ver":                             {"2.10.0"},
		"ec2_placement_availability_zone": {"us-east-1a"},
		"placement_availability_zone":     {"us-east-1a"},
		"key(abc":                         {"v5"},
		"mac":                             {"01:02:03"},
	}
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"id:charlie", true},
		{"id:Charlie", false}, // case-sensitive
		{"id:char*", true},
		{"id:*arl*", true},
		{"id:ch?rlie", true},
		{"id:ch?lie", false},
		{"id:charlie*", true}, // * may match nothing
		{`id:charli\*`, false},
		{"comment:Charlie", true},
		{"comment:Unicorn", false}, // only the first word carries the field
		{`comment:"Charlie the Unicorn"`, true},
		{`comment:"Charlie the"`, true},
		{`comment:"the Unicorn"`, false},
		{`"the Unicorn"`, true}, // bare: the later words stand alone
		{"Unicorn", true},
		{"charlie", false}, // no bare token "charlie": it is id__=__charlie
		{"*charlie", true}, // but a wildcard reaches the prefixed token
		// ~N on a fielded phrase only parses after NOT or -.
		{`NOT comment:"Charlie Unicorn"~1`, false},
		{`NOT comment:"Charlie Unicorn"`, true},
		{`NOT comment:"Charlie Unicorn"~0.5`, true},
		{`NOT comment:"Unicorn Charlie"~3`, true}, // only Charlie has the prefix
		{`"Unicorn the"~2`, true},
		{`"Unicorn the"~1`, false},
		{"shell:\\/bin\\/zsh", true},
		{"shell:/bin/*", true},
		{"uid:[1000 TO 2000]", true},
		{"uid:[1005 TO 1005]", true},
		{"uid:{1005 TO 2000}", false},
		{"uid:{1000 TO 1006}", true},
		{"uid:[2 TO 3]", false}, // strings: "1005" < "2"
		{"uid:[* TO 2]", true},
		{"uid:[1006 TO *]", false},
		{"ver:[2.2 TO 2.9]", false}, // "2.10.0" sorts before "2.2"
		{"empty:[* TO *]", true},
		{"empty:{* TO *}", true},
		{"empty:[* TO z]", true},
		{"empty:{* TO z}", false},
		{"nope:[* TO *]", false},
		{"emp*:[* TO *]", true},
		{"empty:*", true},
		{"nope:*", false},
		{"admin:true", true},
		{"tags:foo AND tags:frontend", true},
		{"tags:foo AND tags:backend", false},
		{"tags:foo OR tags:backend", true},
		{"tags:backend OR tags:foo AND uid:1", false}, // Lucene: +tags:foo +uid:1
		{"tags:backend tags:foo", true},
		{"NOT tags:foo", false},
		{"NOT tags:nope", true},
		{"-tags:nope -id:x", true},
		{"(NOT tags:nope)", true},
		{"id:charlie AND (NOT tags:foo)", false},
		{"id:charlie AND (NOT tags:nope)", true},
		{"id:charlie AND NOT bar", true},
		{"+Unicorn id:nope", true},
		{"+nope tags:foo", false},
		{"ec2_placement_availability_zone:us-east-1a", true},
		{"placement_availability_zone:us-east-1a", true},
		{"*_availability_zone:us-east-1a", true},
		{"*:us-east-1a", true},
		{"*:*", true},
		{"()", false},
		{"foo AND", false},
		{"key\\(abc:v5", true},
		{"key?abc:v5", true},
		{"mac:01\\:02\\:03", true},
		{"id:charlie~", true},
		{"id:charlei~", true}, // a transposition
		{"id:charlei~0", false},
		{"id:chxxlie~", true},
		{"id:cxxxlie~", false},
		{"idd:charlie~1", true},    // the distance covers the field name too
		{"empty:(anything)", true}, // Lucene: empty__=__ OR (anything)
		{"id:(charlie)", false},
		{"-id:(charlie)", false}, // -id__=__ (charlie): the group is positive
	} {
		q, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		if got := q.Match(charlie); got != c.want {
			t.Errorf("%q: Match = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestMatchPartial(t *testing.T) {
	// What Consul knows about a node.
	known := func(f string) bool {
		switch f {
		case "name", "chef_environment", "ipaddress", "fqdn", "roles", "role", "recipes", "recipe", "tags", "platform", "platform_version":
			return true
		}
		return false
	}
	doc := Doc{
		"name":             {"web-01"},
		"chef_environment": {"prod"},
		"role":             {"web", "base"},
		"roles":            {"web", "base"},
		"tags":             {"foo"},
		"platform":         {"ubuntu"},
	}
	for _, c := range []struct {
		q         string
		match     bool
		unchecked []string
	}{
		{"name:web-01", true, nil},
		{"name:db-01", false, nil},
		{"role:web AND chef_environment:prod", true, nil},
		{"role:web AND kernel_machine:x86_64", true, []string{"kernel_machine"}},
		{"role:db AND kernel_machine:x86_64", false, nil},
		{"role:web OR kernel_machine:x86_64", true, nil},
		{"role:db OR kernel_machine:x86_64", true, []string{"kernel_machine"}},
		{"NOT kernel_machine:x86_64", true, []string{"kernel_machine"}},
		{"role:web AND NOT ec2_region:us-east-1", true, []string{"ec2_region"}},
		{"uptime:[1 TO 2] AND memory_total:8*", true, []string{"memory_total", "uptime"}},
		{`kernel_name:"Linux x"`, true, []string{"kernel_name"}},
		{"platfo*:ubuntu", true, nil}, // the doc satisfies it anyway
		{"platfo*:debian", true, []string{"platfo*"}},
		{"name:web-01 AND bare", false, nil}, // bare terms are always evaluated
		{"*:*", true, nil},
		{"(NOT name:web-01) AND x:y", false, nil},
	} {
		q, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		match, unchecked := q.MatchPartial(doc, known)
		if match != c.match || !slices.Equal(unchecked, c.unchecked) {
			t.Errorf("%q: MatchPartial = %v, %q; want %v, %q", c.q, match, unchecked, c.match, c.unchecked)
		}
	}
	// Everything known: MatchPartial is Match.
	all := func(string) bool { return true }
	for _, q := range []string{"role:web", "role:db", "NOT x:y", "kernel:*"} {
		p, _ := Parse(q)
		if m, u := p.MatchPartial(doc, all); m != p.Match(doc) || u != nil {
			t.Errorf("%q: MatchPartial with all fields known = %v, %q; Match = %v", q, m, u, p.Match(doc))
		}
	}
}
