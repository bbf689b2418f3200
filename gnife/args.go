package gnife

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Permute reorders args so that urfave/cli sees every option before the
// positional arguments. knife (mixlib-cli) takes options anywhere:
// `knife search node 'role:web' -a ipaddress`; urfave/cli stops at the
// first positional. The command path (`data bag show`) stays in front.
func Permute(app *cli.App, args []string) []string {
	out, _, _, _ := permute(app, args)
	return out
}

// permute is Permute that also returns the command path, the first
// argument that looks like an option the command does not have, and an
// option that needs a value but ends the line (OptionParser's
// MissingArgument).
func permute(app *cli.App, args []string) (out, path []string, unknown, missing string) {
	cmds := app.Commands
	var leaf *cli.Command
	i := 0
	// Global options before the command (gnife --stack dev search ...)
	// stay in front, with their values.
	var global []string
	for i < len(args) {
		name, hasValue := flagName(args[i])
		if name == "" || !isGlobal(app, name) {
			break
		}
		global = append(global, args[i])
		if !hasValue && i+1 < len(args) {
			global = append(global, args[i+1])
			i++
		}
		i++
	}
	for i < len(args) {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		path = append(path, args[i])
		leaf = c
		cmds = c.Subcommands
		i++
	}
	if leaf == nil || len(leaf.Subcommands) > 0 {
		return args, path, "", ""
	}
	takesValue := map[string]bool{}
	known := map[string]bool{}
	for _, f := range leaf.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			known[n] = true
			takesValue[n] = !isBool
		}
	}
	var flags, pos []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if len(a) > 2 && a[0] == '-' && strings.Trim(a[1:], "V") == "" {
			a = "-V" // -VV, -VVV: knife's verbosity levels
		}
		if a == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		name, hasValue := flagName(a)
		if name == "" || !known[name] {
			// knife's option parser takes anything that starts with a dash
			// and a letter as an option (hence its -q for such queries).
			if name != "" && unknown == "" && isLetter(strings.TrimLeft(a, "-")) {
				unknown = a
			}
			pos = append(pos, a)
			continue
		}
		if known[passwordPromptFlag] && (name == "P" || name == "ssh-password") && !hasValue &&
			(j+1 == len(rest) || len(rest[j+1]) > 1 && rest[j+1][0] == '-') {
			// knife's -P [PASSWORD] takes the next word only when it is
			// not an option (OptionParser's placed argument); without
			// one, it asks.
			flags = append(flags, "--"+passwordPromptFlag)
			continue
		}
		flags = append(flags, a)
		if takesValue[name] && !hasValue {
			if j+1 == len(rest) {
				missing = a
				break
			}
			flags = append(flags, rest[j+1])
			j++
		}
	}
	out = append(append(append([]string(nil), global...), path...), flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out, path, unknown, missing
}

func isGlobal(app *cli.App, name string) bool {
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func isLetter(s string) bool {
	return s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// flagName returns the name of an option argument ("-a", "--rows=2"),
// or "" when the argument is not an option.
func flagName(a string) (name string, hasValue bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", false
	}
	a = strings.TrimLeft(a, "-")
	if n, _, ok := strings.Cut(a, "="); ok {
		return n, true
	}
	return a, false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
