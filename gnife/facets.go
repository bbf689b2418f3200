package gnife

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// facetsCommand is gnife's own: value counts of attributes over every
// shard, instead of piping thousands of rows through sort | uniq -c.
func facetsCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "facets",
		Usage:     "count attribute values over every shard: gnife facets INDEX QUERY -a PATH [-a PATH]",
		ArgsUsage: "[INDEX] QUERY",
		Flags: append(commonFlags(),
			&cli.StringSliceFlag{Name: "attribute", Aliases: []string{"a"}, Usage: "attribute path, dots between levels (kernel.release); repeatable"},
			&cli.StringFlag{Name: "format", Aliases: []string{"F"}, Usage: "text (default) or json (the API's answer)"},
			&cli.StringFlag{Name: "by", Usage: "split the counts by this attribute path (chef_environment), or by shard: one table per group"},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return &ExitError{Code: ExitOK, Stdout: facetsUsage}
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
			args := c.Args().Slice()
			index, q := "node", ""
			switch len(args) {
			case 1:
				q = args[0]
			case 2:
				index, q = args[0], args[1]
			default:
				return &ExitError{Code: ExitUsage, Stdout: facetsUsage, Stderr: "ERROR: give an index and a query\n"}
			}
			attrs := c.StringSlice("attribute")
			if len(attrs) == 0 {
				return &ExitError{Code: ExitUsage, Stdout: facetsUsage, Stderr: "ERROR: give at least one attribute with -a PATH\n"}
			}
			if index == "node" {
				q = knife.FuzzyNodeQuery(q)
			}
			return runFacets(env, index, q, attrs, c.String("by"), format == "json")
		},
	}
}

const facetsUsage = "gnife facets [INDEX] QUERY -a PATH [-a PATH] (options)\n" +
	"    -a, --attribute PATH             Attribute to count, dots between levels (kernel.release)\n" +
	"    -F, --format FORMAT              text (a table per attribute) or json (the API's answer)\n" +
	"        --by PATH                    Split by this attribute (chef_environment), or by shard: one table per group\n" +
	"        --stack STACK                The stack to search: prod, dev or all\n" +
	"        --partial allow|deny         deny: fail when a shard fails\n" +
	"    -s, --server-url URL             Shearch URL\n"

func runFacets(env *Env, index, q string, attrs []string, by string, asJSON bool) error {
	cl, err := env.client()
	if err != nil {
		return err
	}
	res, err := cl.Facets(env.ctx(), index, q, attrs, &api.FacetOptions{AllowPartial: true, By: by})
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return exitf(ExitSearch, "ERROR: gnife facets failed: %s", strings.Join(ae.Messages, "; "))
		}
		return err
	}
	for _, d := range res.Shards.Details {
		if d.Status != api.StatusOK {
			fmt.Fprint(env.IO.ErrOut, shardWarning(d))
		}
	}
	if asJSON {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.IO.Out, "%s\n", b)
		return nil
	}
	if by != "" {
		return GroupTables(env.IO.Out, res, by, attrs)
	}
	return FacetTables(env.IO.Out, res, attrs)
}

// FacetTables prints one table per attribute, in the order asked: a
// header line, then VALUE COUNT SHARE rows by count, highest first, then
// by value. Share is of all rows of the result.
func FacetTables(w io.Writer, res *api.Facets, attrs []string) error {
	for i, a := range attrs {
		f := res.Facets[a]
		if f == nil {
			continue
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		head := fmt.Sprintf("%s: %d rows, %d distinct values, %d missing", a, res.Total, len(f.Values), f.Missing)
		if f.Truncated {
			head += fmt.Sprintf(", %d more values not kept", f.Other)
		}
		fmt.Fprintln(w, head)
		vals := f.SortedValues()
		rows := [][3]string{{"VALUE", "COUNT", "SHARE"}}
		for _, v := range vals {
			rows = append(rows, [3]string{v, strconv.Itoa(f.Values[v]), share(f.Values[v], res.Total)})
		}
		var wv, wc, ws int
		for _, r := range rows {
			wv, wc, ws = max(wv, utf8.RuneCountInString(r[0])), max(wc, len(r[1])), max(ws, len(r[2]))
		}
		for _, r := range rows {
			pad := strings.Repeat(" ", wv-utf8.RuneCountInString(r[0]))
			if _, err := fmt.Fprintf(w, "%s%s  %*s  %*s\n", r[0], pad, wc, r[1], ws, r[2]); err != nil {
				return err
			}
		}
	}
	return nil
}

func share(n, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// GroupTables prints, for each group of an answer split by a group
// attribute (in byte order of the group; rows without it, "(none)", and
// rows of the groups past the bound, "(other groups)", last), a
// "== by=group: N rows" line and the group's FacetTables, groups
// separated by an empty line.
func GroupTables(w io.Writer, res *api.Facets, by string, attrs []string) error {
	names := make([]string, 0, len(res.By))
	for g := range res.By {
		if g != "" {
			names = append(names, g)
		}
	}
	sort.Strings(names)
	type group struct {
		name string
		f    *api.ShardFacets
	}
	var groups []group
	for _, g := range names {
		groups = append(groups, group{g, res.By[g]})
	}
	if f := res.By[""]; f != nil {
		groups = append(groups, group{"(none)", f})
	}
	if res.ByOther != nil {
		groups = append(groups, group{"(other groups)", res.ByOther})
	}
	for i, g := range groups {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s=%s: %d rows\n", by, g.name, g.f.Total)
		if err := FacetTables(w, &api.Facets{Total: g.f.Total, Facets: g.f.Facets}, attrs); err != nil {
			return err
		}
	}
	return nil
}
