package gnife

import (
	"testing"

	"github.com/urfave/cli/v2"
)

// urfave/cli panics when a command runs with a flag name defined twice
// (knife's common -y against a write command's own -y did), so every
// command's flags are checked here, not only the ones a test runs.
func TestNoCommandDefinesAFlagTwice(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	n := 0
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := path + " " + c.Name
			seen := map[string]bool{}
			for _, f := range c.Flags {
				for _, fn := range f.Names() {
					if seen[fn] {
						t.Errorf("%s: flag %q defined twice", name, fn)
					}
					seen[fn] = true
				}
			}
			n++
			walk(name, c.Subcommands)
		}
	}
	walk("gnife", commands(&Env{}))
	if n < 30 {
		t.Fatalf("walked only %d commands", n)
	}
}
