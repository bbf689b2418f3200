package gnife

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// rolloutCommand is gnife's own: how far a value has got, per group, and
// a gate a promotion job can wait on (--min-share).
func rolloutCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "rollout",
		Usage:     "how many nodes hold a value, per group: gnife rollout QUERY --attr PATH --want VALUE [--by PATH] [--min-share F]",
		ArgsUsage: "QUERY",
		Flags: append(commonFlags(),
			&cli.StringFlag{Name: "attr", Usage: "attribute path, dots between levels (chef_packages.chef.version)"},
			&cli.StringFlag{Name: "want", Usage: "the value the rollout brings"},
			&cli.StringFlag{Name: "by", Usage: "group by this attribute path, or by shard"},
			&cli.BoolFlag{Name: "lagging", Usage: "list the nodes that have not reached VALUE"},
			&cli.Float64Flag{Name: "min-share", Value: -1, Usage: "exit 1 unless every group has at least this share (0..1)"},
			&cli.DurationFlag{Name: "stale", Value: time.Hour, Usage: "a node that has not checked in for this long is stale"},
			&cli.StringFlag{Name: "format", Aliases: []string{"F"}, Usage: "text (default) or json (the API's answer)"},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return &ExitError{Code: ExitOK, Stdout: rolloutUsage}
			}
			format := c.String("format")
			switch format {
			case "", "text", "summary", "json":
			default:
				return exitf(ExitUsage, "ERROR: unknown format %q: use text or json", format)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			if c.NArg() != 1 || c.String("attr") == "" || c.String("want") == "" {
				return &ExitError{Code: ExitUsage, Stdout: rolloutUsage, Stderr: "ERROR: give a query, --attr PATH and --want VALUE\n"}
			}
			ms := c.Float64("min-share")
			if c.IsSet("min-share") && (ms < 0 || ms > 1) {
				return exitf(ExitUsage, "ERROR: --min-share %v: give a share from 0 to 1, as 0.95", ms)
			}
			if c.Duration("stale") <= 0 {
				return exitf(ExitUsage, "ERROR: --stale %s: give a positive duration, as 1h", c.Duration("stale"))
			}
			// A gate must not pass on missing data: a failed shard fails
			// the run unless --partial allow was said.
			allow := firstNonEmpty(c.String("partial"), env.globalPartial, defaults.Partial) == "allow"
			env.Deny = !allow
			q := knife.FuzzyNodeQuery(c.Args().First())
			o := &api.RolloutOptions{By: c.String("by"), StaleAfter: c.Duration("stale"), Lagging: c.Bool("lagging"), Deny: !allow, AllowPartial: allow}
			return runRollout(env, q, c.String("attr"), c.String("want"), o, ms, c.IsSet("min-share"), allow, format == "json")
		},
	}
}

const rolloutUsage = "gnife rollout QUERY --attr PATH --want VALUE (options)\n" +
	"        --attr PATH                  Attribute that carries the rollout (chef_packages.chef.version)\n" +
	"        --want VALUE                 The value nodes should reach\n" +
	"        --by PATH                    Group by this attribute (chef_environment), or by shard\n" +
	"        --lagging                    List the nodes that have not reached VALUE\n" +
	"        --min-share F                Exit 0 when every group has at least this share, else 1\n" +
	"        --stale DURATION             Count nodes that have not checked in for this long (default 1h)\n" +
	"        --partial allow              Answer even when a shard failed (else exit 99)\n" +
	"    -F, --format FORMAT              text or json (the API's answer)\n" +
	"    -s, --server-url URL             Shearch URL\n"

func runRollout(env *Env, q, attr, want string, o *api.RolloutOptions, minShare float64, gate, allow, asJSON bool) error {
	cl, err := env.client()
	if err != nil {
		return err
	}
	res, err := cl.Rollout(env.ctx(), "node", q, attr, want, o)
	if err != nil {
		var se *api.Error
		var pe *api.PartialError
		if errors.As(err, &pe) {
			env.warnShards(pe.Shards.Details)
			return exitf(ExitSearch, "ERROR: gnife rollout: shard(s) failed, so the counts are incomplete; --partial allow accepts that")
		}
		if errors.As(err, &se) {
			msg := strings.Join(se.Messages, "; ")
			if se.StatusCode == http.StatusBadGateway && !allow {
				msg += "; a gate needs every shard's nodes (--partial allow counts those of the shards that answered)"
			}
			return exitf(ExitSearch, "ERROR: gnife rollout failed: %s", msg)
		}
		return err
	}
	failed := false
	for _, d := range res.Shards.Details {
		if d.Status != api.StatusOK {
			failed = true
			fmt.Fprint(env.IO.ErrOut, shardWarning(d))
		}
	}
	if asJSON {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.IO.Out, "%s\n", b)
	} else if err := RolloutTable(env.IO.Out, res); err != nil {
		return err
	}
	if failed && !allow {
		return exitf(ExitSearch, "ERROR: gnife rollout: shard(s) failed, so the counts are incomplete; --partial allow accepts that")
	}
	if gate {
		if short := ShortGroups(res, minShare); len(short) > 0 {
			return exitf(ExitNoResults, "below %.1f%%: %s", 100*minShare, strings.Join(short, ", "))
		}
	}
	return nil
}

// ShortGroups names the groups below minShare. An empty group has nothing
// that could lag and does not count; an empty result falls short, as a
// gate must not pass on nothing.
func ShortGroups(res *api.Rollout, minShare float64) []string {
	var out []string
	if res.All.Total == 0 {
		return []string{"no node matched"}
	}
	groups := res.Groups
	if res.By == "" {
		groups = []*api.RolloutGroup{res.All}
	}
	for _, g := range groups {
		if g.Total > 0 && g.Share < minShare {
			out = append(out, fmt.Sprintf("%s %.1f%%", g.Group, 100*g.Share))
		}
	}
	return out
}

// RolloutTable prints GROUP REACHED TOTAL SHARE STALE, one line per group
// and a last line "all" for the whole query, then the lagging nodes.
func RolloutTable(w io.Writer, res *api.Rollout) error {
	rows := [][]string{{"GROUP", "REACHED", "TOTAL", "SHARE", "STALE"}}
	line := func(name string, g *api.RolloutGroup) {
		rows = append(rows, []string{name, strconv.Itoa(g.Reached), strconv.Itoa(g.Total), share(g.Reached, g.Total), strconv.Itoa(g.Stale)})
	}
	for _, g := range res.Groups {
		line(g.Group, g)
	}
	line("all", res.All)
	if err := table(w, rows, 1); err != nil {
		return err
	}
	if len(res.Lagging) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nlagging (%s != %s):\n", res.Attr, res.Want)
	lag := [][]string{{"NAME", "SHARD", "GROUP", "VALUE", "LAST CHECK-IN"}}
	for _, n := range res.Lagging {
		v := n.Value
		if n.Missing {
			v = "(none)"
		}
		seen := "never"
		if n.OhaiTime > 0 {
			seen = time.Unix(int64(n.OhaiTime), 0).UTC().Format(time.RFC3339)
			if n.Stale {
				seen += " (stale)"
			}
		}
		lag = append(lag, []string{n.Name, n.Shard, n.Group, v, seen})
	}
	if err := table(w, lag, len(lag[0])); err != nil {
		return err
	}
	if res.LaggingTruncated {
		fmt.Fprintf(w, "(%d lagging nodes listed; more were not)\n", len(res.Lagging))
	}
	return nil
}

// table prints rows with columns padded; columns from right on are
// right-aligned (numbers), the ones before left-aligned.
func table(w io.Writer, rows [][]string, right int) error {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, f := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(f))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, f := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(f))
			if i >= right {
				b.WriteString(pad + f)
			} else if i == len(r)-1 {
				b.WriteString(f)
			} else {
				b.WriteString(f + pad)
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}
