package gnife

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
)

// shape is a command subtree as the tests compare it: names, usage and
// flag names, depth first.
func shape(cmds []*cli.Command) []string {
	var out []string
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := path + " " + c.Name
			var flags []string
			for _, f := range c.Flags {
				flags = append(flags, strings.Join(f.Names(), "/"))
			}
			out = append(out, p+" ["+c.Usage+"] "+strings.Join(flags, ","))
			walk(p, c.Subcommands)
		}
	}
	walk("", cmds)
	return out
}

// A run builds only the command it runs: each top-level command built
// alone must be the whole tree's, and topCommands must name them all.
func TestCommandsNamedBuildsTheSameTree(t *testing.T) {
	all := commands(&Env{})
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
		one := commandsNamed(&Env{}, c.Name)
		if len(one) != 1 {
			t.Fatalf("commandsNamed(%q) built %d commands", c.Name, len(one))
		}
		if got, want := shape(one), shape([]*cli.Command{c}); !reflect.DeepEqual(got, want) {
			t.Errorf("commandsNamed(%q):\n%s\nwant\n%s", c.Name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if !reflect.DeepEqual(names, topCommands) {
		t.Errorf("topCommands = %q, the tree has %q", topCommands, names)
	}
}

// The bytes and exit code of a run with only its command built are
// those of a run with the whole tree, for the lines where the tree
// matters: help, listings, unknown commands and subcommands, bad
// options, --version. No Shearch runs: commands that need it fail alike.
func TestRunWithOneCommandAsWithTheTree(t *testing.T) {
	for _, line := range [][]string{
		{}, {"--help"}, {"-h"}, {"--version"}, {"-v"}, {"--version", "search"}, {"--stack", "dev", "--version"},
		{"-s", "http://127.0.0.1:1", "--version"}, {"--server-url=http://127.0.0.1:1", "--version"},
		{"nosuch"}, {"nosuch", "node"}, {"--stack", "dev", "nosuch"},
		{"node"}, {"node", "nosuch"}, {"node", "nosuch", "x"}, {"node", "--help"}, {"node", "show", "--help"},
		{"node", "show"}, {"node", "list", "--bogus"}, {"node", "list", "-F", "j"}, {"node", "run_list"},
		{"data"}, {"data", "bag"}, {"data", "nosuch"}, {"data", "bag", "nosuch"}, {"data", "bag", "show"},
		{"role", "show", "-h"}, {"environment", "list", "-z"}, {"client"}, {"tag"}, {"tag", "nosuch"},
		{"search"}, {"search", "--help"}, {"search", "node", "x", "-a"}, {"search", "node", "x", "-F", "csv"},
		{"search", "node", "x", "--bogus"}, {"--stack", "dev", "search", "-h"}, {"status", "-h"}, {"ssh"},
		{"ssh", "-h"}, {"facets"}, {"shards", "-F", "x"}, {"locate"}, {"consistency", "--help"},
		{"completion"}, {"completion", "bash"}, {"completion", "nosuch"}, {"__complete", "--", "no"},
		{"--stack"}, {"--partial", "deny", "node", "list", "-h"},
	} {
		run := func(only string) (string, string, int) {
			var out, errOut bytes.Buffer
			env := &Env{clientConfig: &api.Config{Addresses: []string{"http://127.0.0.1:1"}}}
			if only != "" {
				env.forceTree = true
			}
			rc := Run(line, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
			return out.String(), errOut.String(), rc
		}
		o1, e1, rc1 := run("")
		o2, e2, rc2 := run("tree")
		if o1 != o2 || e1 != e2 || rc1 != rc2 {
			t.Errorf("gnife %q: one command: rc %d\n%s\n%s\nwhole tree: rc %d\n%s\n%s", line, rc1, o1, e1, rc2, o2, e2)
		}
	}
}
