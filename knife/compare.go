package knife

import (
	"strings"
	"unicode/utf8"
)

// EnvConstraints is one environment's cookbook_versions, in the order
// knife holds them (the environment's JSON key order: sorted, as the
// server writes them).
type EnvConstraints struct {
	Name        string
	Cookbooks   []string
	Constraints map[string]string
}

// CompareCookbooks is the cookbook list `knife environment compare` walks
// without -a: each environment's constraints merged into one Ruby hash,
// so a cookbook sits where it was first seen.
func CompareCookbooks(envs []EnvConstraints) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range envs {
		for _, cb := range e.Cookbooks {
			if !seen[cb] {
				seen[cb] = true
				out = append(out, cb)
			}
		}
	}
	return out
}

// CompareColumn is one column of the matrix after the cookbook names: a
// heading and a constraint per cookbook ("" when there is none, which
// knife shows as latest).
type CompareColumn struct {
	Heading string
	Value   func(cookbook string) string
}

// CompareMatrix renders knife environment compare's summary output:
// HighLine's list(rows, :uneven_columns_across, columns) of a header row
// ("" then the headings) and one row per cookbook, every field padded
// to its column's width (the last column too) and joined by two spaces;
// then text_format's newline after the string. mismatch drops the
// cookbooks whose columns all agree (knife's -m).
func CompareMatrix(cookbooks []string, cols []CompareColumn, mismatch bool) []byte {
	rows := [][]string{append([]string{""}, headings(cols)...)}
	for _, cb := range cookbooks {
		row := []string{cb}
		same := true
		for i, c := range cols {
			v := c.Value(cb)
			if i > 0 && v != cols[0].Value(cb) {
				same = false
			}
			if v == "" {
				v = "latest"
			}
			row = append(row, v)
		}
		if same && mismatch {
			continue
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(cols)+1)
	for _, r := range rows {
		for i, f := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(f))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, f := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(f)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(f)))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

func headings(cols []CompareColumn) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Heading
	}
	return out
}

// CompareOutput is what knife prints for a format other than summary:
// ui.output of {environment: {cookbook: constraint}}, in knife's
// environment order.
func CompareOutput(envs []EnvConstraints, format string) ([]byte, error) {
	obj := compareObject(envs)
	switch format {
	case "json":
		return JSON(obj), nil
	case "yaml":
		return YAML(obj)
	case "pp":
		return PP(obj)
	}
	return Text(obj), nil
}

func compareObject(envs []EnvConstraints) Object {
	obj := make(Object, 0, len(envs))
	for _, e := range envs {
		inner := make(Object, 0, len(e.Cookbooks))
		for _, cb := range e.Cookbooks {
			inner = append(inner, Field{cb, e.Constraints[cb]})
		}
		obj = append(obj, Field{e.Name, inner})
	}
	return obj
}
