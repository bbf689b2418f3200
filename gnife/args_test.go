package gnife

import (
	"strings"
	"testing"
)

// knife takes options anywhere; urfave/cli only before positionals.
func TestPermute(t *testing.T) {
	app := NewApp(&Env{})
	for _, tc := range []struct{ in, want, unknown string }{
		{"search node role:web -a ipaddress", "search -a ipaddress -- node role:web", ""},
		{"search node role:web -a ipaddress -a fqdn -i", "search -a ipaddress -a fqdn -i -- node role:web", ""},
		{"--stack all search node role:web -i", "--stack all search -i -- node role:web", ""},
		{"data bag show users alice -F json", "data bag show -F json -- users alice", ""},
		{"search node -q -foo:bar", "search -q -foo:bar -- node", ""},
		{"search node role:web --bogus", "search -- node role:web --bogus", "--bogus"},
		{"status --hide-by-mins=60", "status --hide-by-mins=60", ""},
		{"search node role:web -VVV -u admin", "search -V -u admin -- node role:web", ""},
		{"node list -z", "node list -- -z", "-z"},
	} {
		out, _, unknown, _ := permute(app, strings.Fields(tc.in))
		if got := strings.Join(out, " "); got != tc.want || unknown != tc.unknown {
			t.Errorf("%q: got %q (unknown %q), want %q (unknown %q)", tc.in, got, unknown, tc.want, tc.unknown)
		}
	}
	// An option that needs a value but ends the line is OptionParser's
	// MissingArgument, not the value "--".
	for _, in := range []string{"search node x -a", "node show n -F", "search -q"} {
		if _, _, _, missing := permute(app, strings.Fields(in)); missing != in[strings.LastIndexByte(in, ' ')+1:] {
			t.Errorf("%q: missing %q", in, missing)
		}
	}
}
