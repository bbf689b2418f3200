package knife

import (
	"strconv"
	"strings"
)

// SearchOptions are `knife search`'s display options.
type SearchOptions struct {
	Index        string   // node, role, environment, client, or a data bag name
	Format       string   // -F (see FormatName)
	IDOnly       bool     // -i
	RunList      bool     // -r
	Attributes   []string // -a, as typed (knife ignores -S here)
	FilterResult string   // -f "name=path, name=path"
	Medium, Long bool     // -m, -l (node index only)
	// Environment is set when the global -E was given: knife's
	// format_for_display then shows only {"chef_environment"} for node rows
	// (from source; not in the recorded examples).
	Environment bool
}

// FuzzyNodeQuery is knife's rewrite of a node query without a ":" (fuzz).
func FuzzyNodeQuery(q string) string {
	if strings.Contains(q, ":") {
		return q
	}
	return "tags:*" + q + "* OR roles:*" + q + "* OR fqdn:*" + q + "* OR addresses:*" + q +
		"* OR policy_name:*" + q + "* OR policy_group:*" + q + "*"
}

// SearchFilter is the partial-search body knife POSTs for these options,
// as attribute name => path; nil means knife GETs whole objects. -f wins
// over -a, which wins over -i. The "__display_name" entry carries the row
// heading; -f does not add it, so those rows have an empty heading.
func SearchFilter(o SearchOptions) map[string][]string {
	switch {
	case o.FilterResult != "":
		f := map[string][]string{}
		for _, part := range strings.Split(strings.ReplaceAll(o.FilterResult, " ", ""), ",") {
			if part == "" {
				continue
			}
			name, path, _ := strings.Cut(part, "=")
			f[name] = rubySplit(path, ".")
		}
		return f
	case len(o.Attributes) > 0:
		f := map[string][]string{"__display_name": {"name"}}
		for _, a := range o.Attributes {
			f[a] = rubySplit(a, ".")
		}
		return f
	case o.IDOnly:
		return map[string][]string{"__display_name": {"name"}}
	}
	return nil
}

// Search renders `knife search`. rows are what the server returned, in
// order, over every page: the partial-search "data" hashes when
// SearchFilter(o) is not nil, whole objects otherwise. The "N items found"
// header counts the rows knife received (so `--start 1` on 12 matches
// says 11), which is why no separate total is taken.
func Search(o SearchOptions, rows []map[string]any) (Output, error) {
	p := presenter{
		format:      FormatName(o.Format),
		attributes:  o.Attributes,
		sep:         ".",
		runList:     o.RunList,
		idOnly:      o.IDOnly,
		environment: o.Environment,
		detail:      detailOf(o.Medium, o.Long),
		node:        o.Index == "node",
	}
	partial := SearchFilter(o) != nil
	kind := searchKind(o.Index)
	items := make([]any, 0, len(rows))
	for _, row := range rows {
		var item any
		var err error
		switch {
		case o.IDOnly:
			item, err = p.formatForDisplay(map[string]any{"id": row["__display_name"]})
		case partial:
			rest := make(map[string]any, len(row))
			for k, v := range row {
				if k != "__display_name" {
					rest[k] = v
				}
			}
			heading := nilKey
			if dn, ok := row["__display_name"]; ok && dn != nil {
				heading = rubyToS(dn)
			}
			item = Object{{heading, rest}}
		default:
			item, err = p.formatForDisplay(load(kind, row))
		}
		if out, ok := unexpected("search", err); ok {
			return out, nil
		}
		if err != nil {
			return Output{}, err
		}
		items = append(items, item)
	}
	var out Output
	if p.interchange() {
		var s string
		var err error
		if p.format == "json" {
			s = string(JSON(Object{{"results", len(items)}, {"rows", items}}))
		} else {
			s, err = p.render(symKeyed{{"results", len(items)}, {"rows", items}})
		}
		if err != nil {
			return Output{}, err
		}
		out.Stdout = []byte(puts(s))
	} else {
		out.Stderr = []byte(strconv.Itoa(len(items)) + " items found\n\n")
		var b strings.Builder
		for _, item := range items {
			s, err := p.render(item)
			if err != nil {
				return Output{}, err
			}
			b.WriteString(puts(s))
			if !o.IDOnly {
				b.WriteString("\n")
			}
		}
		out.Stdout = []byte(b.String())
	}
	if len(items) == 0 {
		out.Exit = ExitFailure
	}
	return out, nil
}

// SearchQueryTwice is knife search's answer to a query given both as an
// argument and with -q (Search#read_cli_args): the error, the option
// listing on stdout, exit 1.
func SearchQueryTwice() Output {
	help, _ := Help("search")
	return Output{Stdout: []byte(help), Stderr: Error("Please specify query as an argument or an option via -q, not both"), Exit: ExitFailure}
}

// SearchWithoutIndex is what knife search prints when read_cli_args leaves
// the index nil: `-q QUERY` with no INDEX, or three or more arguments (its
// case statement has no branch for them). Chef::Search::Query#validate_type
// raises InvalidSearchQuery, which Knife#humanize_exception prints as
// "ERROR: <class>: <message>" before exiting 100 (chef 16.12.3,
// lib/chef/search/query.rb and lib/chef/knife.rb; the message's missing
// spaces and the eight-space gap are knife's).
func SearchWithoutIndex() Output {
	msg := "Invalid search object type nil (NilClass), must be a String or Symbol." +
		"Usage: search(:node, QUERY[, OPTIONAL_ARGS])" +
		"        `knife search environment QUERY (options)`"
	return Output{Stderr: Error("Chef::Exceptions::InvalidSearchQuery: " + msg), Exit: ExitHTTPError}
}
