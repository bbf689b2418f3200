// Package gnife implements gnife's commands: knife's read subcommands,
// flags, output bytes and exit codes, backed by Shearch's API.
package gnife

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

func init() {
	// Our commands define --help/-h themselves (knife's listing); urfave
	// must not react to a flag of that name.
	cli.HelpFlag = &cli.BoolFlag{Name: "gnife-urfave-help", Hidden: true}
}

// Version is set at build time.
var Version = "dev"

// IOStreams are the streams a command writes to, injected so every
// command can be tested without a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Exit codes, as knife uses them.
const (
	ExitOK           = 0
	ExitNoResults    = 1 // zero results, or a missing argument
	ExitUsage        = 1
	ExitConfig       = 2   // gnife's own: a bad URL, a bad config file
	ExitSSH          = 10  // ssh with nothing to reach
	ExitNoSubcommand = 10  // no such command (Knife.subcommand_not_found!)
	ExitSearch       = 99  // search failed
	ExitNotFound     = 100 // any other HTTP error, such as 404
	ExitInterrupted  = 130 // Ctrl-C or SIGTERM: 128+SIGINT, as a shell reports Ruby's knife killed by it
)

// ExitError ends a command with a code after its message (if any) has
// been written to stderr. It is the one way commands choose an exit code.
type ExitError struct {
	Code int
	// Stderr is written as is (it carries its own newline).
	Stderr string
	// Stdout is written before Stderr (usage listings go to stdout).
	Stdout string
}

func (e *ExitError) Error() string { return strings.TrimSpace(e.Stderr) }

// exitf builds an ExitError with one stderr line.
func exitf(code int, format string, a ...any) *ExitError {
	return &ExitError{Code: code, Stderr: fmt.Sprintf(format, a...) + "\n"}
}

// Env is what every command needs: streams, the Shearch client and the
// clock (status ages depend on it).
type Env struct {
	IO IOStreams
	// Context ends when the user interrupts (Ctrl-C, SIGTERM): the request
	// under way is torn down, so Shearch stops its shard requests too.
	Context context.Context
	Client  *api.Client
	Now     func() time.Time
	// Stack and Deny are gnife's additions, valid on every command.
	Stack string
	Deny  bool
	// ClientConfig builds the client lazily from flags and env.
	clientConfig *api.Config
	cmdNotFound  bool
	// needTree asks Run to run again with the whole command tree.
	needTree bool
	// forceTree builds the whole tree for every run (tests compare).
	forceTree bool
	// globalStack and globalPartial are --stack/--partial given before
	// the command.
	globalStack, globalPartial string
}

// Run runs gnife with args (without the program name) and returns the
// exit code. Nothing is written to os.Stdout/os.Stderr directly.
func Run(args []string, streams IOStreams, env *Env) int {
	if env == nil {
		env = &Env{}
	}
	env.IO = streams
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.clientConfig == nil {
		cfg, err := LoadConfig()
		if err != nil {
			fmt.Fprintf(streams.ErrOut, "ERROR: %v\n", err)
			return ExitConfig
		}
		if w := exposedToken(ConfigPath()); w != "" {
			fmt.Fprintln(streams.ErrOut, w)
		}
		env.clientConfig = cfg
	}
	only := runCommand(args)
	if env.forceTree {
		only = ""
	}
	app := newApp(env, only)
	args, path, unknown, missing := permute(app, args)
	if unknown != "" {
		return exitCode(invalidOption(strings.Join(path, " "), unknown), streams)
	}
	if missing != "" {
		// OptionParser's MissingArgument, which knife does not rescue: Ruby
		// prints it with a backtrace and exits 1.
		return exitCode(exitf(ExitUsage, "ERROR: missing argument: %s", missing), streams)
	}
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		args = nil
	}
	err := app.Run(append([]string{"gnife"}, args...))
	if env.needTree {
		// A word under the command was no subcommand of it: knife's FATAL
		// line and the listing come from the whole tree.
		env.needTree = false
		err = newApp(env, "").Run(append([]string{"gnife"}, args...))
	}
	if env.cmdNotFound {
		return ExitNoSubcommand
	}
	if err != nil && env.Context != nil && env.Context.Err() != nil {
		fmt.Fprintln(streams.ErrOut, "ERROR: interrupted")
		return ExitInterrupted
	}
	return exitCode(err, streams)
}

// invalidOption is what knife prints for an option the command does not
// have: "Error: invalid option: X", then its usage, on stdout; exit 1.
func invalidOption(cmd, opt string) error {
	help, ok := knife.Help(cmd)
	if !ok {
		return exitf(ExitUsage, "ERROR: invalid option: %s", opt)
	}
	return &ExitError{Code: ExitUsage, Stdout: "Error: invalid option: " + opt + "\nUSAGE: " + help}
}

// exitCode writes an error's message and turns it into the exit code:
// the one place where errors become codes.
func exitCode(err error, streams IOStreams) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		io.WriteString(streams.Out, ee.Stdout)
		io.WriteString(streams.ErrOut, ee.Stderr)
		return ee.Code
	}
	var ce *api.ConnectError
	if errors.As(err, &ce) {
		fmt.Fprintf(streams.ErrOut, "ERROR: Network Error: %v\nCheck your knife configuration and network settings\n", ce)
		return ExitNotFound
	}
	fmt.Fprintf(streams.ErrOut, "ERROR: %v\n", err)
	return ExitNotFound
}

// Main is cmd/gnife's whole body.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(os.Args[1:], IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, &Env{Context: ctx})
	stop()
	os.Exit(code)
}

// NewApp builds the command tree. Completion reads it too.
func NewApp(env *Env) *cli.App { return newApp(env, "") }

// newApp builds the app with only the top-level command called only (see
// commandsNamed and runCommand), or with the whole tree when only is "".
func newApp(env *Env, only string) *cli.App {
	var cmds []*cli.Command
	if only != "-" {
		cmds = commandsNamed(env, only)
	}
	app := &cli.App{
		Name:                      "gnife",
		Usage:                     "knife's read commands over every Chef shard, through Shearch",
		Version:                   Version,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Writer:                    env.IO.Out,
		ErrWriter:                 env.IO.ErrOut,
		ExitErrHandler:            func(*cli.Context, error) {},
		Flags:                     globalFlags(),
		Before: func(c *cli.Context) error {
			applyGlobalFlags(c, env)
			return nil
		},
		Commands: cmds,
	}
	// knife prints its own option listing for -h; urfave's help flag
	// would clash with it.
	app.HideHelp = true
	app.CommandNotFound = func(c *cli.Context, name string) {
		if only != "" {
			env.needTree = true
			return
		}
		// Knife.subcommand_not_found! names every word typed, then lists
		// its commands and exits 10; gnife lists its own.
		words := append(strings.Fields(commandPath(c)), name)
		for _, a := range c.Args().Tail() {
			if strings.HasPrefix(a, "-") {
				break
			}
			words = append(words, a)
		}
		fmt.Fprintf(env.IO.ErrOut, "FATAL: Cannot find subcommand for: '%s'\n", strings.Join(words, " "))
		cli.ShowAppHelp(c)
		env.cmdNotFound = true
	}
	var hide func([]*cli.Command)
	hide = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.HideHelp = true
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return exitf(ExitUsage, "ERROR: %v", err) }
			hide(c.Subcommands)
		}
	}
	hide(app.Commands)
	app.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
		return exitf(ExitUsage, "ERROR: %v", err)
	}
	return app
}
