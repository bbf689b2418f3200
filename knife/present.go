package knife

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ShowOptions are the display options shared by knife's show commands.
type ShowOptions struct {
	Format         string   // -F: summary (default), text, json, yaml, pp, or a prefix of one
	Attributes     []string // -a, as typed
	FieldSeparator string   // -S; "" means "."
	RunList        bool     // -r (node show)
	Environment    bool     // -E (node show): only chef_environment
	Medium, Long   bool     // -m, -l (node show)
}

// presenter is knife's GenericPresenter, or its NodePresenter when node is set.
type presenter struct {
	format      string
	attributes  []string
	sep         string
	runList     bool
	idOnly      bool
	environment bool
	detail      Detail
	node        bool
}

// FormatName resolves a format the way GenericPresenter#parse_format_option
// does: an exact name, or any word starting with s, t, j, y or p; "" for
// anything else. On the command line mixlib-cli only lets the five exact
// names through (see InvalidFormat); prefixes come from knife.rb.
func FormatName(f string) string {
	switch {
	case f == "" || strings.HasPrefix(f, "s"):
		return "summary"
	case strings.HasPrefix(f, "t"):
		return "text"
	case strings.HasPrefix(f, "j"):
		return "json"
	case strings.HasPrefix(f, "y"):
		return "yaml"
	case strings.HasPrefix(f, "p"):
		return "pp"
	}
	return ""
}

func detailOf(medium, long bool) Detail {
	switch {
	case long:
		return DetailLong
	case medium:
		return DetailMedium
	}
	return DetailSummary
}

func (p presenter) interchange() bool { return p.format == "json" || p.format == "yaml" }

// nameOrIDKey is name_or_id_for used as a hash key.
func nameOrIDKey(data any) string {
	v := nameOrID(data)
	if v == nil {
		return nilKey
	}
	return rubyToS(v)
}

// nameOrID is GenericPresenter#name_or_id_for: the object's name, or a
// hash's "id".
func nameOrID(data any) any {
	switch x := data.(type) {
	case chefObject:
		return x.nameOrID()
	case map[string]any:
		return x["id"]
	case Object:
		v, _ := x.Get("id")
		return v
	}
	return nil
}

// formatForDisplay is GenericPresenter#format_for_display.
func (p presenter) formatForDisplay(data any) (any, error) {
	switch {
	case len(p.attributes) > 0:
		var subset Object
		for _, spec := range p.attributes {
			v := extractNestedValue(data, spec, p.sep)
			if o, ok := v.(chefObject); ok {
				v = o.displayHash()
			}
			if _, dup := subset.Get(spec); !dup {
				subset = append(subset, Field{spec, v})
			}
		}
		return Object{{nameOrIDKey(data), subset}}, nil
	case p.runList:
		var items any
		switch x := data.(type) {
		case *node:
			items = x.runList.items()
		case *role:
			items = x.runList.items()
		default:
			// `data.run_list` on an object without one: Ruby raises
			// NoMethodError (GenericPresenter#format_data_subset_for_display).
			return nil, noMethod("run_list", data)
		}
		return Object{{nameOrIDKey(data), Object{{"run_list", items}}}}, nil
	case p.idOnly:
		return nameOrID(data), nil
	case p.environment:
		if n, ok := data.(*node); ok {
			return Object{{"chef_environment", n.env}}, nil
		}
	}
	return data, nil
}

// format is the presenter's #format: the string `ui.output` hands to puts.
func (p presenter) render(data any) (string, error) {
	switch p.format {
	case "summary":
		if n, ok := data.(*node); ok && p.node {
			return n.summary(p.detail), nil
		}
		return string(Text(data)), nil
	case "text":
		return string(Text(data)), nil
	case "json":
		if n, ok := data.(*node); ok && p.node {
			return string(JSON(n.summaryJSON(p.detail == DetailLong))), nil
		}
		return string(JSON(data)), nil
	case "yaml":
		y, err := YAML(data)
		return string(y), err
	case "pp":
		if len(p.attributes) > 0 && rubyLength(data) == 1 {
			// A RunList's #inspect shows object addresses; its entries
			// stand in for it (README, "Differences from knife").
			return putsValue(firstValue(plainData(data))), nil
		}
		out, err := PP(data)
		return string(out), err
	}
	return "", fmt.Errorf("knife: unknown output format %q: use summary, text, json, yaml or pp", p.format)
}

func rubyLength(v any) int {
	switch x := v.(type) {
	case map[string]any:
		return len(x)
	case Object:
		return len(x)
	case []any:
		return len(x)
	case string:
		return utf8.RuneCountInString(x)
	}
	return -1
}

func firstValue(v any) any {
	switch x := v.(type) {
	case Object:
		return x[0].Value
	case map[string]any:
		return x[sortedKeys(x)[0]]
	case []any:
		return x[0]
	}
	return v
}

// putsValue is what IO#puts writes for one value: strings as they are,
// arrays one element per line, nil as an empty line, anything else via to_s
// (for a Hash that is #inspect).
func putsValue(v any) string {
	switch x := v.(type) {
	case string:
		return puts(x)
	case nil:
		return "\n"
	case []any:
		if len(x) == 0 {
			return "\n"
		}
		var b strings.Builder
		for _, e := range x {
			b.WriteString(putsValue(e))
		}
		return b.String()
	case map[string]any, Object:
		return rubyInspect(x) + "\n"
	}
	return puts(rubyToS(v))
}

// Show renders `knife node|role|environment|client|data bag show` for one
// object fetched from the server: kind says which Chef class knife loads it
// as (KindNode, KindRole, KindEnvironment, KindClientV1, or KindHash for a
// data bag item's raw data). It returns stdout.
func Show(kind Kind, obj map[string]any, o ShowOptions) ([]byte, error) {
	p := presenter{
		format:     FormatName(o.Format),
		attributes: o.Attributes,
		sep:        o.FieldSeparator,
		node:       kind == KindNode,
	}
	if p.sep == "" {
		p.sep = "."
	}
	if kind == KindNode {
		p.runList, p.environment = o.RunList, o.Environment
		p.detail = detailOf(o.Medium, o.Long)
	}
	data, err := p.formatForDisplay(load(kind, obj))
	if err != nil {
		return nil, err
	}
	if kind == KindHash && p.format == "yaml" {
		data = toMash(data) // DataBagItem#raw_data is a Mash, tagged in YAML
	}
	s, err := p.render(data)
	if err != nil {
		return nil, err
	}
	return []byte(puts(s)), nil
}
