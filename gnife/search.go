package gnife

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// SearchOptions are `gnife search`'s options, as knife's.
type SearchOptions struct {
	Index   string
	Query   string
	Display knife.SearchOptions
	Start   int
	Rows    int
}

func searchCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "search",
		Usage:     "search any index over every shard",
		ArgsUsage: "INDEX QUERY",
		Flags: append(commonFlags(),
			&cli.StringSliceFlag{Name: "attribute", Aliases: []string{"a"}},
			&cli.StringFlag{Name: "filter-result", Aliases: []string{"f"}},
			&cli.StringFlag{Name: "format", Aliases: []string{"F"}},
			&cli.BoolFlag{Name: "id-only", Aliases: []string{"i"}},
			&cli.BoolFlag{Name: "long", Aliases: []string{"l"}},
			&cli.BoolFlag{Name: "medium", Aliases: []string{"m"}},
			&cli.StringFlag{Name: "query", Aliases: []string{"q"}},
			&cli.IntFlag{Name: "rows", Aliases: []string{"R"}, Value: 1000},
			&cli.IntFlag{Name: "start", Aliases: []string{"b"}},
			&cli.BoolFlag{Name: "run-list", Aliases: []string{"r"}},
			&cli.StringFlag{Name: "field-separator", Aliases: []string{"S"}},
			&cli.StringFlag{Name: "environment", Aliases: []string{"E"}},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return helpExit("search", 0)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			o := SearchOptions{Start: c.Int("start"), Rows: c.Int("rows")}
			args := c.Args().Slice()
			switch {
			case c.IsSet("query") && len(args) > 1:
				return knifeOutput(knife.SearchQueryTwice())
			case c.IsSet("query") && len(args) == 1:
				o.Index, o.Query = args[0], c.String("query")
			case c.IsSet("query"), len(args) > 2:
				// knife leaves the index nil here and its search refuses it.
				return knifeOutput(knife.SearchWithoutIndex())
			case len(args) == 2:
				o.Index, o.Query = args[0], args[1]
			case len(args) == 1:
				o.Index, o.Query = "node", args[0]
			default:
				return usageExit("search")
			}
			o.Display = knife.SearchOptions{
				Index: o.Index, Format: c.String("format"), IDOnly: c.Bool("id-only"), RunList: c.Bool("run-list"),
				Attributes: c.StringSlice("attribute"), FilterResult: c.String("filter-result"),
				Medium: c.Bool("medium"), Long: c.Bool("long"), Environment: c.IsSet("environment"),
			}
			return runSearch(env, o)
		},
	}
}

// runSearch does what knife search does: fuzzify node queries without a
// ":", fetch pages of `rows` from `start` until the whole result is in,
// then print it with knife's presenters.
func runSearch(env *Env, o SearchOptions) error {
	q := o.Query
	if o.Index == "node" {
		q = knife.FuzzyNodeQuery(q)
	}
	if o.Rows <= 0 {
		o.Rows = 1000
	}
	rows, err := env.searchPages(o.Index, q, o.Start, o.Rows, knife.SearchFilter(o.Display), searchFailed)
	if err != nil {
		return err
	}
	out, err := knife.Search(o.Display, rows)
	if err != nil {
		return err
	}
	// knife logs "N items found" before the rows.
	env.IO.ErrOut.Write(out.Stderr)
	env.IO.Out.Write(out.Stdout)
	if out.Exit != 0 {
		return &ExitError{Code: out.Exit}
	}
	return nil
}

// shardWarning is gnife's line for a shard that did not answer from Chef.
func shardWarning(d api.ShardStatus) string {
	s := fmt.Sprintf("WARNING: shard %s failed: %s", d.Name, d.Error)
	if d.Status == api.StatusFallback {
		s += fmt.Sprintf("; %d rows from Consul", d.FallbackRows)
		if len(d.Unchecked) > 0 {
			s += fmt.Sprintf(" (could not check %s)", strings.Join(d.Unchecked, ", "))
		}
	}
	return s + "\n"
}

// searchFailed prints a Shearch error as knife prints a failed search:
// `ERROR: knife search failed: <message>`, continuation lines indented to
// line up after "ERROR: ", exit 99.
func searchFailed(err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return err
	}
	msg := strings.TrimRight(strings.Join(ae.Messages, "\n"), "\n")
	msg = strings.ReplaceAll(msg, "\n", "\n       ")
	return &ExitError{Code: ExitSearch, Stderr: "ERROR: knife search failed: " + msg + "\n"}
}

// helpExit prints a command's knife-style option listing.
func helpExit(cmd string, code int) error {
	h, _ := knife.Help(cmd)
	return &ExitError{Code: code, Stdout: h}
}

// knifeOutput ends a command with what knife would have printed.
func knifeOutput(out knife.Output) error {
	if out.Exit == 0 && len(out.Stderr) == 0 {
		return nil
	}
	return &ExitError{Code: out.Exit, Stdout: string(out.Stdout), Stderr: string(out.Stderr)}
}
