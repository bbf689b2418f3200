package gnife

import (
	"encoding/json"
	"fmt"
	"net/url"
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

// getRaw fetches a native endpoint; with -F json it is printed as is.
func (e *Env) getRaw(path string, v any) ([]byte, error) {
	cl, err := e.client()
	if err != nil {
		return nil, err
	}
	data, err := cl.Do(e.ctx(), "GET", path, e.query(), nil)
	if err != nil {
		return nil, httpError(err)
	}
	return data, json.Unmarshal(data, v)
}

func printJSON(env *Env, data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintf(env.IO.Out, "%s\n", b)
	return nil
}

func runShards(env *Env, format string) error {
	var st struct {
		Version    uint64  `json:"version"`
		AgeSeconds float64 `json:"age_seconds"`
		Stale      bool    `json:"stale"`
		Shards     []struct {
			Name, Stack, URL, Source, Health string
			Weight                           *int64
			LastError                        string `json:"last_error"`
		} `json:"shards"`
		Sources []struct {
			Source, State string
			LastError     string `json:"last_error"`
		} `json:"sources"`
	}
	data, err := env.getRaw("/v1/shards", &st)
	if err != nil {
		return err
	}
	if strings.HasPrefix(format, "j") {
		return printJSON(env, data)
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
	var loc struct {
		Shards     []string `json:"shards"`
		Kept       string   `json:"kept"`
		Duplicates []struct {
			Stale []string `json:"stale"`
		} `json:"duplicates"`
	}
	data, err := env.getRaw("/v1/nodes/"+url.PathEscape(name), &loc)
	if err != nil {
		return err
	}
	if strings.HasPrefix(format, "j") {
		return printJSON(env, data)
	}
	fmt.Fprintf(env.IO.Out, "%s: %s\n", name, loc.Kept)
	for _, d := range loc.Duplicates {
		sort.Strings(d.Stale)
		fmt.Fprintf(env.IO.Out, "  stale copies on: %s\n", strings.Join(d.Stale, ", "))
	}
	return nil
}

func runConsistency(env *Env, format string) error {
	var rep struct {
		Stack   string `json:"stack"`
		Checked int    `json:"checked"`
		Drift   []struct {
			Kind, Name string
			Versions   []struct {
				Hash   string
				Shards []string
				Keys   []string `json:"differing_keys"`
			}
			Missing []string
		} `json:"drift"`
	}
	data, err := env.getRaw("/v1/consistency", &rep)
	if err != nil {
		return err
	}
	if strings.HasPrefix(format, "j") {
		return printJSON(env, data)
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
