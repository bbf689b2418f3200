package gnife

import "github.com/urfave/cli/v2"

// commands is gnife's command tree: knife's nouns, then gnife's own.
func commands(env *Env) []*cli.Command {
	cmds := []*cli.Command{searchCommand(env), dataBagCommand(env), statusCommand(env), tagCommand(env),
		sshCommand(env), completionCommand(env), completeCommand(env)}
	cmds = append(cmds, nounCommands(env)...)
	cmds = append(cmds, facetsCommand(env))
	return addWriteCommands(env, append(cmds, fleetCommands(env)...))
}
