package knife

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// StatusOptions are `knife status`'s display options.
type StatusOptions struct {
	Format      string // -F (see FormatName)
	RunList     bool   // -r
	Long        bool   // -l: rows are whole nodes instead of partial-search hashes
	SortReverse bool   // -s
}

// StatusFilter is the partial-search body `knife status` POSTs, or nil with
// -l, where it fetches whole nodes. It does not ask for fqdn, and the
// presenter reads the rows with Symbol keys anyway, which is why the
// default status line shows neither FQDN nor IP.
func StatusFilter(long bool) map[string][]string {
	if long {
		return nil
	}
	return map[string][]string{
		"name": {"name"}, "ipaddress": {"ipaddress"}, "ohai_time": {"ohai_time"},
		"cloud": {"cloud"}, "run_list": {"run_list"}, "platform": {"platform"},
		"platform_version": {"platform_version"}, "chef_environment": {"chef_environment"},
	}
}

// StatusQuery builds the query `knife status` sends: the QUERY argument and
// "chef_environment:ENV" joined with " AND ", then for --hide-by-mins a
// "NOT ohai_time:[now-60*MINS TO now]" appended after a plain space, and
// "*:*" when all of that is empty. hideByMins is the option as typed, ""
// when it was not given (knife applies String#to_i to it).
func StatusQuery(query, environment, hideByMins string, now int64) string {
	q := ""
	appendTerm := func(t string) {
		if q != "" {
			q += " AND "
		}
		q += t
	}
	if query != "" {
		appendTerm(query)
	}
	if environment != "" {
		appendTerm("chef_environment:" + environment)
	}
	if hideByMins != "" {
		mins := int64(rubyToI(hideByMins))
		if q != "" {
			q += " "
		}
		q += "NOT ohai_time:[" + strconv.FormatInt(now-mins*60, 10) + " TO " + strconv.FormatInt(now, 10) + "]"
	}
	if q == "" {
		return "*:*"
	}
	return q
}

// statusRow is one node as the status presenter reads it.
type statusRow struct {
	raw  map[string]any // partial-search hash (no -l)
	node *node          // whole node (-l)
}

// get is node["key"]: a Hash lookup on partial rows, the merged attribute
// view on whole nodes.
func (r statusRow) get(key string) any {
	if r.node != nil {
		return r.node.attr(key)
	}
	return r.raw[key]
}

func (r statusRow) name() any {
	if v := r.get("name"); truthy(v) {
		return v
	}
	if r.node != nil {
		return r.node.name
	}
	return nil
}

// Status renders `knife status`. rows are the partial-search hashes for
// StatusFilter (or whole nodes with Long), in any order: knife sorts them by
// ohai_time itself (missing counts as 0). now is the Unix time knife's
// clock reads. Ruby's sort_by is not stable; ties keep their input order
// here.
func Status(o StatusOptions, rows []map[string]any, now int64) ([]byte, error) {
	list := make([]statusRow, len(rows))
	for i, m := range rows {
		if o.Long {
			list[i] = statusRow{node: newNode(m)}
		} else {
			list[i] = statusRow{raw: m}
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		return ohaiKey(list[i].get("ohai_time")) < ohaiKey(list[j].get("ohai_time"))
	})
	if o.SortReverse {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	switch FormatName(o.Format) {
	case "summary":
		var b strings.Builder
		for _, r := range list {
			b.WriteString(statusLine(r, o, now))
		}
		return []byte(puts(b.String())), nil
	case "json":
		return JSON(statusJSON(list, o.Long)), nil
	case "text", "yaml", "pp":
		arr := make([]any, len(list))
		for i, r := range list {
			switch {
			case r.node == nil:
				arr[i] = r.raw
			case FormatName(o.Format) == "text":
				// TextFormatter asks a Chef::Node for #keys and #sort,
				// which Node#method_missing hands to its merged
				// attributes (text_formatter.rb, node/attribute.rb).
				arr[i] = r.node.mergedAttributes()
			default:
				arr[i] = r.node // plain data: see plainData
			}
		}
		p := presenter{format: FormatName(o.Format)}
		s, err := p.render(arr)
		if err != nil {
			return nil, err
		}
		return []byte(puts(s)), nil
	}
	return nil, fmt.Errorf("knife: unknown output format %q: use summary, text, json, yaml or pp", o.Format)
}

// ohaiKey is the sort key n["ohai_time"] || 0.
func ohaiKey(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// rubyTimeToI is ohai_time.to_i: Float truncates, String reads its leading
// integer.
func rubyTimeToI(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(rubyToI(x))
	case bool, nil:
		return 0
	}
	return int64(math.Trunc(ohaiKey(v)))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// statusAge is StatusPresenter's age text. A count of one keeps a space
// where the plural "s" would go ("1 hour  ago").
func statusAge(ohaiTime any, now int64) string {
	diff := now - rubyTimeToI(ohaiTime)
	hours := floorDiv(diff, 3600)
	diff -= hours * 3600
	minutes := diff / 60
	seconds := diff % 60
	unit := func(n int64, word string) string {
		if n == 1 {
			return "1 " + word + " "
		}
		return strconv.FormatInt(n, 10) + " " + word + "s"
	}
	switch {
	case hours >= 1:
		return unit(hours, "hour")
	case minutes >= 1:
		return unit(minutes, "minute")
	}
	return unit(seconds, "second")
}

func statusLine(r statusRow, o StatusOptions, now int64) string {
	var ip, fqdn any
	if r.node != nil {
		// Only whole nodes answer node[:cloud] / node[:fqdn]: partial rows are
		// String-keyed Hashes read with Symbols, so they give nil.
		if cloud, ok := r.node.attr("cloud").(map[string]any); ok {
			if addrs, ok := cloud["public_ipv4_addrs"].([]any); ok && len(addrs) > 0 {
				ip = addrs[0]
			}
			fqdn = cloud["public_hostname"]
		}
		if !truthy(ip) {
			ip = r.node.attr("ipaddress")
		}
		if !truthy(fqdn) {
			fqdn = r.node.attr("fqdn")
		}
	}
	var runList any
	if o.RunList {
		if r.node != nil {
			items := make([]any, len(r.node.runList))
			for i, s := range r.node.runList {
				items[i] = stripRunListVersion(s)
			}
			runList = items
		} else {
			runList = r.raw["run_list"]
		}
	}
	var parts []string
	name := r.name()
	if ot := r.get("ohai_time"); truthy(ot) {
		parts = append(parts, statusAge(ot, now)+" ago", rubyToS(name))
	} else {
		parts = append(parts, "Node "+rubyToS(name)+" has not yet converged")
	}
	if truthy(fqdn) {
		parts = append(parts, rubyToS(fqdn))
	}
	if truthy(ip) {
		parts = append(parts, rubyToS(ip))
	}
	if truthy(runList) {
		parts = append(parts, rubyInspect(runList))
	}
	if platform := r.get("platform"); truthy(platform) {
		s := rubyToS(platform)
		if pv := r.get("platform_version"); truthy(pv) {
			s += " " + rubyToS(pv)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ") + ".\n"
}

// stripRunListVersion is "#{rl.type}[#{rl.name}]": -l -r drops versions.
func stripRunListVersion(item string) string {
	if m := qualifiedRecipe.FindStringSubmatch(item); m != nil {
		return "recipe[" + m[1] + "]"
	}
	return item
}

// statusJSON is StatusPresenter#summarize_json. It tests config["run_list"]
// with a String key, which is never set, so run_list never appears; and
// fqdn appears only through cloud.public_hostname on partial rows, which do
// not fetch fqdn.
func statusJSON(list []statusRow, long bool) []any {
	out := make([]any, 0, len(list))
	for _, r := range list {
		var cloud map[string]any
		if r.node != nil {
			cloud, _ = r.node.attr("cloud").(map[string]any)
		} else {
			cloud, _ = r.raw["cloud"].(map[string]any)
		}
		var ip, fqdn any
		if cloud != nil {
			if addrs, ok := cloud["public_ipv4_addrs"].([]any); ok && len(addrs) > 0 {
				ip = addrs[0]
			}
			fqdn = cloud["public_hostname"]
		}
		if !truthy(ip) {
			ip = r.get("ipaddress")
		}
		if !truthy(fqdn) {
			fqdn = r.get("fqdn")
		}
		o := Object{{"name", r.name()}, {"chef_environment", r.get("chef_environment")}}
		if truthy(ip) {
			o = append(o, Field{"ip", ip})
		}
		if truthy(fqdn) {
			o = append(o, Field{"fqdn", fqdn})
		}
		o = append(o, Field{"ohai_time", r.get("ohai_time")})
		if v := r.get("platform"); truthy(v) {
			o = append(o, Field{"platform", v})
		}
		if v := r.get("platform_version"); truthy(v) {
			o = append(o, Field{"platform_version", v})
		}
		if long {
			o = append(o, Field{"default", r.node.deflt}, Field{"override", r.node.override}, Field{"automatic", r.node.automatic})
		}
		out = append(out, o)
	}
	return out
}
