package gnife

import "github.com/urfave/cli/v2"

// commands is gnife's command tree: knife's nouns, then gnife's own.
func commands(env *Env) []*cli.Command { return commandsNamed(env, "") }

// topCommands are the names of the tree's top-level commands, in its
// order (TestCommandsNamedBuildsTheSameTree checks them against it).
var topCommands = []string{"search", "data", "status", "tag", "ssh", "completion", "__complete",
	"node", "role", "environment", "client", "facets", "rollout", "shards", "locate", "consistency"}

// commandsNamed builds the top-level command called name with its whole
// subtree, or every command when name is "". A run needs only the
// command it runs: building the flags of the other ~60 commands was a
// visible part of a short command's start-up (page faults in a fresh
// heap).
func commandsNamed(env *Env, name string) []*cli.Command {
	var cmds []*cli.Command
	add := func(n string, build func(*Env) *cli.Command) {
		if name == "" || name == n {
			cmds = append(cmds, build(env))
		}
	}
	add("search", searchCommand)
	add("data", dataBagCommand)
	add("status", statusCommand)
	add("tag", tagCommand)
	add("ssh", sshCommand)
	add("completion", completionCommand)
	add("__complete", completeCommand)
	cmds = append(cmds, nounCommands(env, name)...)
	add("facets", facetsCommand)
	add("rollout", rolloutCommand)
	cmds = append(cmds, fleetCommands(env, name)...)
	return addWriteCommands(env, cmds)
}

// runCommand is the top-level command args run, "" when that needs the
// whole tree (no command: the listing; an unknown one: the listing after
// knife's FATAL line), and "-" for `gnife --version`, which needs none.
// Global options before the command are skipped, as permute does.
func runCommand(args []string) string {
	i := 0
	for i < len(args) {
		name, hasValue := flagName(args[i])
		if name != "server-url" && name != "s" && name != "stack" && name != "partial" {
			break
		}
		if !hasValue {
			i++
		}
		i++
	}
	if i >= len(args) {
		return ""
	}
	switch a := args[i]; a {
	case "--version", "-v":
		return "-"
	default:
		for _, n := range topCommands {
			if a == n {
				return n
			}
		}
	}
	return ""
}
