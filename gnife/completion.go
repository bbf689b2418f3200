package gnife

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/completion"
)

// completionCommand is `gnife completion bash|zsh|fish`.
func completionCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			shell := c.Args().First()
			if shell == "" {
				return exitf(ExitUsage, "USAGE: gnife completion bash|zsh|fish")
			}
			s, err := completion.Script(shell, "gnife")
			if err != nil {
				return exitf(ExitUsage, "ERROR: %v", err)
			}
			fmt.Fprint(env.IO.Out, s)
			return nil
		},
	}
}

// completeCommand is the hidden `gnife __complete -- WORDS... CURRENT`
// the completion scripts call. It never fails: a shell waiting on it
// gets what is known within a second, or nothing.
func completeCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			words := c.Args().Slice()
			// The scripts send "--" first so that a word like "--" or
			// "-s" typed by the user stays a word.
			if len(words) > 0 && words[0] == "--" {
				words = words[1:]
			}
			cache := completionCache(env, words)
			for _, s := range completion.Complete(NewApp(env), words, cache.Names) {
				fmt.Fprintln(env.IO.Out, s)
			}
			return nil
		},
	}
}

// completionCache reads names from the Shearch and stack the command line
// being completed points at (its -s/--server-url and --stack).
func completionCache(env *Env, words []string) *completion.Cache {
	cfg := api.Config{Addresses: []string{api.DefaultAddress}}
	if env.clientConfig != nil {
		cfg = *env.clientConfig
	}
	stack := defaults.Stack
	for i := 0; i < len(words)-1; i++ {
		name, value, inline := strings.Cut(words[i], "=")
		if !inline && i+2 < len(words) {
			value = words[i+1]
		} else if !inline {
			continue
		}
		switch name {
		case "-s", "--server-url":
			cfg.Addresses = api.SplitAddresses(value)
		case "--stack":
			stack = value
		}
	}
	// A completion waits for no shed request and says nothing on stderr.
	cfg.HTTPClient, cfg.Stack, cfg.MaxRetries, cfg.Logger = nil, stack, -1, slog.New(moveLines{})
	return &completion.Cache{
		Key: strings.Join(cfg.Addresses, ",") + " " + stack,
		List: func(ctx context.Context, path string) ([]string, error) {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			cl, err := api.NewClient(&cfg)
			if err != nil {
				return nil, err
			}
			m, err := listNames(ctx, cl, path)
			if err != nil {
				return nil, err
			}
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			sort.Strings(names)
			return names, nil
		},
	}
}
