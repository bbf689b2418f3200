package gnife

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// environmentCompareCommand is knife 16's `environment compare
// [ENVIRONMENT..] [-a] [-m]` over the merged environments, plus what only
// a sharded fleet has: one stderr line per pin the shards disagree on,
// and --by-shard columns.
func environmentCompareCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare cookbook version constraints between environments",
		ArgsUsage: "[ENVIRONMENT..]",
		Flags: append(commonFlags(),
			&cli.StringFlag{Name: "format", Aliases: []string{"F"}},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "Show all cookbooks."},
			&cli.BoolFlag{Name: "mismatch", Aliases: []string{"m"}, Usage: "Only show mismatching versions."},
			&cli.BoolFlag{Name: "by-shard", Usage: "add one column per shard for each environment"},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return &ExitError{Code: ExitOK, Stdout: compareUsage}
			}
			if err := env.setup(c); err != nil {
				return err
			}
			return runEnvironmentCompare(env, c.Args().Slice(), c.String("format"), c.Bool("all"), c.Bool("mismatch"), c.Bool("by-shard"))
		},
	}
}

const compareUsage = "knife environment compare [ENVIRONMENT..] (options)\n" +
	"    -a, --all                        Show all cookbooks.\n" +
	"    -m, --mismatch                   Only show mismatching versions.\n" +
	"        --by-shard                   One column per shard for each environment (gnife)\n"

func runEnvironmentCompare(env *Env, names []string, format string, all, mismatch, byShard bool) error {
	cl, err := env.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		// Chef::Environment.list: the server's key order, which Shearch
		// (as Chef Server) writes sorted.
		items, err := cl.Environments().List(env.ctx())
		if err = env.warnPartial(err); err != nil {
			return httpError(err)
		}
		for n := range items {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var envs []knife.EnvConstraints
	seen := map[string]int{}
	for _, n := range names {
		if n == "_default" {
			continue
		}
		obj, err := env.getObject("environments", "", n)
		if err != nil {
			return err
		}
		ec := knife.EnvConstraints{Name: n, Constraints: map[string]string{}}
		cv, _ := obj["cookbook_versions"].(map[string]any)
		for cb, v := range cv {
			s, _ := v.(string)
			ec.Constraints[cb] = s
			ec.Cookbooks = append(ec.Cookbooks, cb)
		}
		sort.Strings(ec.Cookbooks)
		// A Ruby hash keeps the first position of a repeated key and the
		// last value.
		if i, ok := seen[n]; ok {
			envs[i] = ec
			continue
		}
		seen[n] = len(envs)
		envs = append(envs, ec)
	}
	cookbooks := knife.CompareCookbooks(envs)
	if len(cookbooks) == 0 {
		return &ExitError{Code: ExitUsage, Stderr: string(knife.Error("Cannot find any environment cookbook constraints"))}
	}
	if all {
		if cookbooks, err = cl.CookbookNames(env.ctx(), env.Stack); err != nil {
			return httpError(err)
		}
	}
	// The shards' own pins only add to knife's output: without them the
	// matrix is still knife's, so only --by-shard, which shows them,
	// fails on them.
	pins, err := cl.Pins(env.ctx(), env.Stack)
	if err != nil {
		if byShard {
			return httpError(err)
		}
		fmt.Fprintf(env.IO.ErrOut, "WARNING: the shards' pins could not be compared: %v\n", err)
		pins = &api.PinMatrix{}
	}
	switch format {
	case "", "summary":
		env.IO.Out.Write(knife.CompareMatrix(cookbooks, compareColumns(envs, pins, byShard), mismatch))
	default:
		out, err := knife.CompareOutput(envs, format)
		if err != nil {
			return err
		}
		env.IO.Out.Write(out)
	}
	warnDisagreements(env, envs, pins)
	return nil
}

func compareColumns(envs []knife.EnvConstraints, pins *api.PinMatrix, byShard bool) []knife.CompareColumn {
	byKey := map[[2]string]api.Pin{}
	for _, p := range pins.Pins {
		byKey[[2]string{p.Cookbook, p.Environment}] = p
	}
	var cols []knife.CompareColumn
	for _, e := range envs {
		cs := e.Constraints
		cols = append(cols, knife.CompareColumn{Heading: e.Name, Value: func(cb string) string { return cs[cb] }})
		if !byShard {
			continue
		}
		for _, sh := range pins.Shards {
			name, sh := e.Name, sh
			cols = append(cols, knife.CompareColumn{Heading: name + "@" + sh, Value: func(cb string) string {
				return byKey[[2]string{cb, name}].ByShard[sh]
			}})
		}
	}
	return cols
}

// warnDisagreements prints one stderr line per pin of the compared
// environments that differs between shards, each shard's constraint named
// ("none" where the shard pins nothing, so latest).
func warnDisagreements(env *Env, envs []knife.EnvConstraints, pins *api.PinMatrix) {
	compared := map[string]bool{}
	for _, e := range envs {
		compared[e.Name] = true
	}
	for _, p := range pins.Disagreements {
		if !compared[p.Environment] {
			continue
		}
		shards := make([]string, 0, len(p.ByShard))
		for sh := range p.ByShard {
			shards = append(shards, sh)
		}
		sort.Strings(shards)
		parts := make([]string, len(shards))
		for i, sh := range shards {
			c := p.ByShard[sh]
			if c == "" {
				c = "none"
			}
			parts[i] = sh + " " + c
		}
		fmt.Fprintf(env.IO.ErrOut, "WARNING: cookbook %s in environment %s is pinned differently on the shards: %s\n",
			p.Cookbook, p.Environment, strings.Join(parts, ", "))
	}
}
