package knife

import (
	"strings"
)

// Detail selects how much of a node the summary shows: knife's plain
// summary, -m (normal attributes) or -l (every attribute level).
type Detail int

// Summary detail levels.
const (
	DetailSummary Detail = iota
	DetailMedium
	DetailLong
)

// NodeSummary is NodePresenter#summarize for one node hash: the nine-line
// block (name, environment or policy, FQDN, IP, run list, roles, recipes,
// platform, tags) plus the -m / -l attribute sections. The result ends with
// exactly one newline after the last line of the block; each -m/-l section
// is followed by an empty line.
func NodeSummary(nodeHash map[string]any, detail Detail) []byte {
	return []byte(newNode(nodeHash).summary(detail))
}

func (n *node) summary(detail Detail) string {
	var b strings.Builder
	// Split-horizon clouds: the public address wins over ipaddress.
	var ip any
	if cloud, ok := n.attr("cloud").(map[string]any); ok {
		if addrs, ok := cloud["public_ipv4_addrs"].([]any); ok && len(addrs) > 0 {
			ip = addrs[0]
		}
	}
	if !truthy(ip) {
		ip = n.attr("ipaddress")
	}
	b.WriteString("Node Name:   " + rubyToS(n.name) + "\n")
	if n.policy() {
		b.WriteString("Policy Name:  " + rubyToS(n.policyName) + "\n")
		b.WriteString("Policy Group: " + rubyToS(n.policyGroup) + "\n")
	} else {
		b.WriteString("Environment: " + n.env + "\n")
	}
	b.WriteString("FQDN:        " + rubyToS(n.attr("fqdn")) + "\n")
	b.WriteString("IP:          " + rubyToS(ip) + "\n")
	b.WriteString("Run List:    " + rubyToS(n.runList) + "\n")
	if !n.policy() {
		b.WriteString("Roles:       " + rubyJoin(rubyArray(n.attr("roles")), ", ") + "\n")
	}
	b.WriteString("Recipes:     " + rubyJoin(rubyArray(n.attr("recipes")), ", ") + "\n")
	b.WriteString("Platform:    " + rubyToS(n.attr("platform")) + " " + rubyToS(n.attr("platform_version")) + "\n")
	tags := n.tags()
	b.WriteString("Tags:        " + rubyJoin(tags, ", ") + "\n")
	if detail >= DetailMedium {
		// Node#tags stored Array(tags) back into normal before this runs.
		normal := make(map[string]any, len(n.normal)+1)
		for k, v := range n.normal {
			normal[k] = v
		}
		if tags == nil {
			tags = []any{}
		}
		normal["tags"] = tags
		b.WriteString("Attributes:\n" + textFormat(normal) + "\n")
	}
	if detail >= DetailLong {
		b.WriteString("Default Attributes:\n" + textFormat(n.deflt) + "\n")
		b.WriteString("Override Attributes:\n" + textFormat(n.override) + "\n")
		b.WriteString("Automatic Attributes (Ohai Data):\n" + textFormat(n.automatic) + "\n")
	}
	return b.String()
}

// nodeSummaryJSON is NodePresenter#summarize_json for a node: name,
// environment (or policy), run list (a RunList, so pre-rendered), normal
// attributes and with -l the other levels.
func (n *node) summaryJSON(long bool) Object {
	o := Object{{"name", n.name}}
	if n.policy() {
		o = append(o, Field{"policy_name", n.policyName}, Field{"policy_group", n.policyGroup})
	} else {
		o = append(o, Field{"chef_environment", n.env})
	}
	o = append(o, Field{"run_list", n.runList}, Field{"normal", n.normal})
	if long {
		o = append(o, Field{"default", n.deflt}, Field{"override", n.override}, Field{"automatic", n.automatic})
	}
	return o
}

// extractNestedValue is GenericPresenter#extract_nested_value: the spec is
// split on the separator and walked through arrays (by String#to_i), hashes
// (by key) and, for Chef objects, their attributes or accessor methods.
// Methods of plain Ruby values (String#size and the like) are not modelled
// and give nil.
func extractNestedValue(data any, spec, sep string) any {
	for _, attr := range rubySplit(spec, sep) {
		switch x := data.(type) {
		case []any:
			i := rubyToI(attr)
			if i < 0 {
				i += len(x)
			}
			if i >= 0 && i < len(x) {
				data = x[i]
			} else {
				data = nil
			}
		case []string:
			data = extractNestedValue(rubyArray(x), attr, "\x00")
		case map[string]any:
			data = x[attr]
		case Object:
			data, _ = x.Get(attr)
		case chefObject:
			data, _ = x.lookup(attr)
		default:
			data = nil
		}
	}
	return data
}

// rubySplit is String#split with a literal separator: trailing empty fields
// dropped, and a single-space separator meaning "split on whitespace".
func rubySplit(s, sep string) []string {
	if sep == " " {
		return strings.Fields(s)
	}
	if sep == "" {
		var out []string
		for _, r := range s {
			out = append(out, string(r))
		}
		return out
	}
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
