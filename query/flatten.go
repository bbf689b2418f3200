package query

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Doc is an object as Chef's search index sees it: each field name maps to
// the values indexed under it, whole (Match splits them on whitespace as
// Chef's analyzer does). Build one with Flatten, or directly for a source
// that knows only a few fields, e.g. Doc{"name": {"web-01"}, "role": {"web"}}.
type Doc map[string][]string

// Flatten expands a Chef object the way Chef Infra Server indexes it
// (chef_index_expand, after each type's ejson_for_indexing):
//
//   - "node": the default, normal, override and automatic attributes are
//     deep-merged, later levels winning, into the top level; then name,
//     chef_type, chef_environment, run_list, recipe and role (the entries of
//     the run list) and, when set, policy_name and policy_group are added
//     over them. No other top-level key of the node is indexed.
//   - "role": the object without env_run_lists._default.
//   - "client", "environment": the object as it is.
//   - "": the object as it is, for objects already in that shape.
//   - anything else names a data bag: the item (unwrapped from a
//     Chef::DataBagItem's raw_data) plus chef_type and data_bag.
//
// Every leaf is indexed under its own key and under its whole path joined
// with "_" (a.b.c gives a_b_c and c, never b_c), each hash's keys are also
// values of the hash's path, array elements are indexed under the array's
// key, true and false become "true" and "false", and null an empty value.
// Numbers are written as erchef writes them: integers plainly, floats in
// Erlang's shortest form ("1.5", "1.0e3"). A float64 holding an integer is
// taken for a JSON integer, since encoding/json decodes both to float64;
// decode with UseNumber to tell 2 from 2.0. Typed objects also get Chef's
// X_CHEF_type_CHEF_X field.
func Flatten(index string, obj map[string]any) Doc {
	var item map[string]any
	typ := index
	switch index {
	case "":
		item = obj
	case "node":
		item = nodeForIndexing(obj)
	case "role":
		item = roleForIndexing(obj)
	case "client", "environment":
		item = obj
	default:
		item = dataBagItemForIndexing(index, obj)
		typ = "data_bag_item"
	}
	f := flattener{doc: Doc{}}
	if typ != "" {
		f.pair([]string{"X_CHEF_type_CHEF_X"}, typ)
	}
	f.expand(nil, item)
	// Chef indexes the sorted, de-duplicated pairs (lists:usort).
	for k, vs := range f.doc {
		slices.Sort(vs)
		f.doc[k] = slices.Compact(vs)
	}
	return f.doc
}

// nodeForIndexing is chef_node:ejson_for_indexing.
func nodeForIndexing(node map[string]any) map[string]any {
	merged := MergedAttributes(node)
	runList := normalizeRunList(node["run_list"])
	env := node["chef_environment"]
	if env == nil {
		env = "_default" // what erchef fills in on create
	}
	merged["name"] = node["name"]
	merged["chef_type"] = "node"
	merged["chef_environment"] = env
	merged["recipe"] = runListItems(runList, "recipe[")
	merged["role"] = runListItems(runList, "role[")
	merged["run_list"] = runList
	for _, k := range [...]string{"policy_name", "policy_group"} {
		if v := node[k]; v != nil {
			merged[k] = v
		}
	}
	return merged
}

// MergedAttributes deep-merges a node's default, normal, override and
// automatic attributes, later levels winning, as Chef indexes them.
func MergedAttributes(node map[string]any) map[string]any {
	merged := map[string]any{}
	for _, level := range [...]string{"default", "normal", "override", "automatic"} {
		if attrs, ok := node[level].(map[string]any); ok {
			merged = deepMerge(merged, attrs)
		}
	}
	return merged
}

// deepMerge is chef_deep_merge:merge: hashes merge key by key, anything else
// (arrays included) is replaced by the higher level. Neither input changes.
func deepMerge(low, high map[string]any) map[string]any {
	out := make(map[string]any, len(low)+len(high))
	for k, v := range low {
		out[k] = v
	}
	for k, hv := range high {
		lm, lok := out[k].(map[string]any)
		hm, hok := hv.(map[string]any)
		if lok && hok {
			out[k] = deepMerge(lm, hm)
		} else {
			out[k] = hv
		}
	}
	return out
}

// normalizeRunList qualifies bare entries as recipes, as erchef does when a
// node is saved; objects read back from Chef are already in this form.
func normalizeRunList(v any) []any {
	var out []any
	add := func(s string) {
		if !strings.HasPrefix(s, "recipe[") && !strings.HasPrefix(s, "role[") {
			s = "recipe[" + s + "]"
		}
		out = append(out, s)
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				add(s)
			}
		}
	case []string:
		for _, s := range v {
			add(s)
		}
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// runListItems is extract_recipes/extract_roles: the text between the prefix
// and the closing bracket, kept as written (so foo and foo::default differ).
func runListItems(runList []any, prefix string) []any {
	out := []any{}
	for _, e := range runList {
		s := e.(string)
		if strings.HasPrefix(s, prefix) && len(s) > len(prefix) {
			out = append(out, s[len(prefix):len(s)-1])
		}
	}
	return out
}

// roleForIndexing is chef_role:ejson_for_indexing.
func roleForIndexing(role map[string]any) map[string]any {
	out := make(map[string]any, len(role)+1)
	for k, v := range role {
		out[k] = v
	}
	envs := map[string]any{}
	if m, ok := role["env_run_lists"].(map[string]any); ok {
		for k, v := range m {
			if k != "_default" {
				envs[k] = v
			}
		}
	}
	out["env_run_lists"] = envs
	return out
}

// dataBagItemForIndexing is chef_data_bag_item:ejson_for_indexing.
func dataBagItemForIndexing(bag string, obj map[string]any) map[string]any {
	item := obj
	if raw, ok := obj["raw_data"].(map[string]any); ok && obj["json_class"] == "Chef::DataBagItem" {
		item = raw
	}
	out := make(map[string]any, len(item)+2)
	for k, v := range item {
		out[k] = v
	}
	out["chef_type"] = "data_bag_item"
	out["data_bag"] = bag
	return out
}

type flattener struct{ doc Doc }

// expand is chef_index_expand:expand; path runs from the top down.
func (f *flattener) expand(path []string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			f.pair(path, k)
			f.expand(append(path[:len(path):len(path)], k), child)
		}
	case map[string]string:
		for k, child := range v {
			f.pair(path, k)
			f.pair(append(path[:len(path):len(path)], k), child)
		}
	case []any:
		for _, e := range v {
			f.expand(path, e)
		}
	case []string:
		for _, e := range v {
			f.pair(path, e)
		}
	case []map[string]any:
		for _, e := range v {
			f.expand(path, e)
		}
	default:
		f.pair(path, scalarText(v))
	}
}

// pair is add_kv_pair: a top-level key name has no parent to be a value of.
func (f *flattener) pair(path []string, value string) {
	switch len(path) {
	case 0:
	case 1:
		f.doc[path[0]] = append(f.doc[path[0]], value)
	default:
		leaf, full := path[len(path)-1], strings.Join(path, "_")
		f.doc[leaf] = append(f.doc[leaf], value)
		f.doc[full] = append(f.doc[full], value)
	}
}

func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return numberText(v)
	case float64:
		return floatText(v)
	case float32:
		return floatText(float64(v))
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uint:
		return strconv.FormatUint(uint64(v), 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	}
	return fmt.Sprint(v)
}

// numberText keeps a JSON number's kind: jiffy decodes "2" to an integer and
// "2.0" or "2e0" to a float, and erchef prints the two differently.
func numberText(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return s // a bignum stays exact in Erlang too
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	return erlangFloat(f)
}

func floatText(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return erlangFloat(f)
}

// erlangFloat is io_lib:format("~p", [F]) (io_lib_format:fwrite_g/1 on OTP
// 24 and later): the shortest digits that read back as F, in plain notation
// when that is no longer than the exponent form, which erchef uses for every
// float it indexes.
func erlangFloat(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±x
	mant, expText, _ := strings.Cut(sci, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	l := len(digits)
	place := exp - (l - 1) // f = digits × 10^place
	expL := strconv.Itoa(exp)
	expCost := len(expL) + 2
	insertExp := func() string {
		if l == 1 {
			return sign + digits + ".0e" + expL
		}
		return sign + digits[:1] + "." + digits[1:] + "e" + expL
	}
	if place < 0 {
		switch {
		case exp >= 0:
			return sign + digits[:l+place] + "." + digits[l+place:]
		case 2-place-l <= expCost:
			return sign + "0." + strings.Repeat("0", -place-l) + digits
		}
		return insertExp()
	}
	dot := 0
	if l == 1 {
		dot = 1
	}
	if expCost+dot >= place+2 && f < 1<<53 {
		return sign + digits + strings.Repeat("0", place) + ".0"
	}
	return insertExp()
}
