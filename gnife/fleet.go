package gnife

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/shearch/shearch/api"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

// gnife's own commands, which knife does not have: the shards behind
// Shearch, where a node lives, and what drifts between shards.

// fleetCommands builds the one called name, or all when name is "".
func fleetCommands(env *Env, name string) []*cli.Command {
	if name != "" && name != "shards" && name != "locate" && name != "consistency" {
		return nil
	}
	jsonFlag := &cli.StringFlag{Name: "format", Aliases: []string{"F"}, Usage: "text (default) or json"}
	cmds := []*cli.Command{
		{
			Name:  "shards",
			Usage: "show the shards Shearch knows: stack, weight, source, health, last error",
			Flags: append(commonFlags(), jsonFlag),
			Action: func(c *cli.Context) error {
				if err := env.setup(c); err != nil {
					return err
				}
				return runShards(env, c.String("format"))
			},
		},
		{
			Name:      "locate",
			Usage:     "show which shard(s) hold a node",
			ArgsUsage: "NODE",
			Flags:     append(commonFlags(), jsonFlag),
			Action: func(c *cli.Context) error {
				if err := env.setup(c); err != nil {
					return err
				}
				if c.NArg() == 0 {
					return exitf(ExitUsage, "FATAL: You must specify a node name")
				}
				return runLocate(env, c.Args().First(), c.String("format"))
			},
		},
		{
			Name:  "consistency",
			Usage: "list roles, environments, data bag items and cookbook versions that differ between shards",
			Flags: withOwnFlags(commonFlags(), append(repairFlags(), jsonFlag)...),
			Action: func(c *cli.Context) error {
				if err := env.setup(c); err != nil {
					return err
				}
				if c.Bool("repair") {
					return runRepair(env, c)
				}
				return runConsistency(env, c.String("format"))
			},
		},
	}
	if name == "" {
		return cmds
	}
	for _, c := range cmds {
		if c.Name == name {
			return []*cli.Command{c}
		}
	}
	return nil
}

// fleetCall runs one of gnife's own reads; a Shearch error is knife's
// HTTP error.
func fleetCall[T any](env *Env, get func(ctx context.Context, cl *api.Client) (T, error)) (T, error) {
	var zero T
	cl, err := env.client()
	if err != nil {
		return zero, err
	}
	v, err := get(env.ctx(), cl)
	if err = env.warnPartial(err); err != nil {
		return zero, httpError(err)
	}
	return v, nil
}

// printJSON prints an answer as knife prints JSON: indented, keys sorted.
func printJSON(env *Env, answer any) error {
	raw, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	var v any
	if err := shardsJSON(raw, &v); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.IO.Out, "%s\n", b)
	return nil
}

func runShards(env *Env, format string) error {
	st, err := fleetCall(env, func(ctx context.Context, cl *api.Client) (*api.Topology, error) { return cl.Shards(ctx) })
	if err != nil {
		return err
	}
	if strings.HasPrefix(format, "j") {
		return printJSON(env, st)
	}
	w := tabwriter.NewWriter(env.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SHARD\tSTACK\tWEIGHT\tSOURCE\tHEALTH\tURL\tLAST ERROR")
	for _, s := range st.Shards {
		weight := "-"
		if s.Weight != nil {
			weight = fmt.Sprint(*s.Weight)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Stack, weight, s.Source, s.Health, s.URL, s.LastError)
	}
	w.Flush()
	stale := ""
	if st.Stale {
		stale = ", stale: serving the last-known-good topology"
	}
	fmt.Fprintf(env.IO.Out, "\ntopology version %d, %s old%s\n", st.Version, (time.Duration(st.AgeSeconds) * time.Second).String(), stale)
	for _, s := range st.Sources {
		line := fmt.Sprintf("source %s: %s", s.Source, s.State)
		if s.LastError != "" {
			line += " (" + s.LastError + ")"
		}
		fmt.Fprintln(env.IO.Out, line)
	}
	return nil
}

func runLocate(env *Env, name, format string) error {
	loc, err := fleetCall(env, func(ctx context.Context, cl *api.Client) (*api.Location, error) { return cl.Locate(ctx, name) })
	if err != nil {
		return err
	}
	if strings.HasPrefix(format, "j") {
		return printJSON(env, loc)
	}
	fmt.Fprintf(env.IO.Out, "%s: %s\n", name, loc.Kept)
	for _, d := range loc.Duplicates {
		sort.Strings(d.Stale)
		fmt.Fprintf(env.IO.Out, "  stale copies on: %s\n", strings.Join(d.Stale, ", "))
	}
	return nil
}

func runConsistency(env *Env, format string) error {
	rep, err := fleetCall(env, func(ctx context.Context, cl *api.Client) (*api.Consistency, error) { return cl.Consistency(ctx, "") })
	if err != nil {
		return err
	}
	if strings.HasPrefix(format, "j") {
		return printJSON(env, rep)
	}
	fmt.Fprintf(env.IO.Out, "stack %s: %d objects checked, %d differ\n", rep.Stack, rep.Checked, len(rep.Drift))
	for _, d := range rep.Drift {
		fmt.Fprintf(env.IO.Out, "%s %s\n", d.Kind, d.Name)
		for _, v := range d.Versions {
			keys := ""
			if len(v.Keys) > 0 {
				keys = "  differs in: " + strings.Join(v.Keys, ", ")
			}
			fmt.Fprintf(env.IO.Out, "  %s on %s%s\n", v.Hash, strings.Join(v.Shards, ", "), keys)
		}
		if len(d.Missing) > 0 {
			fmt.Fprintf(env.IO.Out, "  missing on %s\n", strings.Join(d.Missing, ", "))
		}
	}
	if len(rep.Drift) > 0 {
		return &ExitError{Code: ExitNoResults}
	}
	return nil
}
