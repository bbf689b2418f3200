package query

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

// pairs renders a Doc as erchef's sorted "key__=__value" list.
func pairs(d Doc) []string {
	var out []string
	for k, vs := range d {
		for _, v := range vs {
			out = append(out, k+"__=__"+v)
		}
	}
	slices.Sort(out)
	return out
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFlattenErchef ports chef_index_expand_tests' expected outputs (without
// the XML escaping, which Solr undoes).
func TestFlattenErchef(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string
	}{
		{"flatten_nested_test", `{
			"k1": ["a1", "a2", ["aa1", "aa2"]],
			"k2": 5,
			"k3": {"kk1": "h", "kk2": [1, 2],
			       "kk3": {"kkk1": true, "kkk2": "i<&>",
			               "kk&k3": ["j", {"lkk<>k1": 1, "lkkk2": 2}]}}}`,
			[]string{
				"k1__=__a1", "k1__=__a2", "k1__=__aa1", "k1__=__aa2", "k2__=__5",
				"k3__=__kk1", "k3__=__kk2", "k3__=__kk3", "k3_kk1__=__h", "k3_kk2__=__1", "k3_kk2__=__2",
				"k3_kk3__=__kk&k3", "k3_kk3__=__kkk1", "k3_kk3__=__kkk2",
				"k3_kk3_kk&k3__=__j", "k3_kk3_kk&k3__=__lkk<>k1", "k3_kk3_kk&k3__=__lkkk2",
				"k3_kk3_kk&k3_lkk<>k1__=__1", "k3_kk3_kk&k3_lkkk2__=__2",
				"k3_kk3_kkk1__=__true", "k3_kk3_kkk2__=__i<&>",
				"kk&k3__=__j", "kk&k3__=__lkk<>k1", "kk&k3__=__lkkk2",
				"kk1__=__h", "kk2__=__1", "kk2__=__2",
				"kk3__=__kk&k3", "kk3__=__kkk1", "kk3__=__kkk2",
				"kkk1__=__true", "kkk2__=__i<&>", "lkk<>k1__=__1", "lkkk2__=__2",
			}},
		{"flatten_lists_test", `{"k1": [null, true, false, "a", 0, 1.123, ["b", 2], "c"]}`,
			[]string{"k1__=__", "k1__=__0", "k1__=__1.123", "k1__=__2", "k1__=__a", "k1__=__b", "k1__=__c", "k1__=__false", "k1__=__true"}},
		{"flatten_non_recursive_type_test", `{"a_null": null, "a_true": true, "a_false": false, "a_int": 2,
			"a_float": 1.23, "a_string": "hello", "q1": "with \"quotes\"", "q2 \"2\"": "with quotes in key"}`,
			[]string{"a_false__=__false", "a_float__=__1.23", "a_int__=__2", "a_null__=__", "a_string__=__hello",
				"a_true__=__true", `q1__=__with "quotes"`, `q2 "2"__=__with quotes in key`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := pairs(Flatten("", mustJSON(t, c.in))); !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestFlattenNodeFixture(t *testing.T) {
	var node map[string]any
	decodeNumbers(t, "../testdata/fixture/nodes/web-01.prod.example.com.json", &node)
	doc := Flatten("node", node)
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"role:web", true},
		{"roles:base", true},
		{"role:base", false}, // role comes from the run list, roles from Ohai
		{"recipe:app\\:\\:deploy", true},
		{"recipe:app", false},
		{"recipes:nginx", true},
		{"run_list:role\\[web\\]", true},
		{"ec2_placement_availability_zone:us-east-1a", true},
		{"placement_availability_zone:us-east-1a", true},
		{"ec2:placement_availability_zone", true}, // a hash's keys are its values
		{"tags:foo", true},
		{"name:web*", true},
		{"name:web-01.prod.example.com", true},
		{"chef_environment:prod", true},
		{"chef_type:node", true},
		{"ohai_time:[1795340000 TO 1795349999]", true},
		{"ohai_time:1795348487.52", true},
		{"ohai_time:[1795349999 TO *]", false},
		{"nginx_port:80", true},
		{"worker_processes:4", true},
		{"app_version:2.4.1", true},
		{"version:2.4.1", true},
		{"chef_packages_chef_version:16.12.3", true},
		{"packages_chef_version:16.12.3", false}, // partial paths are not indexed
		{"uptime:14", true},
		{`uptime:"14 days 06 hours"`, true},
		{"uptime:days", false},
		{"platform:ubuntu AND platform_version:20.04", true},
		{"kernel_machine:x86_64", true},
		{"cpu_total:2", true},
		{"json_class:*", false},
		{"automatic_fqdn:*", false}, // precedence levels are merged away
		{"default:*", false},
		{"normal_app_version:*", false},
		{"policy_name:*", false},
		{"X_CHEF_type_CHEF_X:node", true},
	} {
		q, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		if got := q.Match(doc); got != c.want {
			t.Errorf("%q on web-01: %v, want %v", c.q, got, c.want)
		}
	}
}

func TestFlattenNode(t *testing.T) {
	node := mustJSON(t, `{
		"name": "n1", "json_class": "Chef::Node", "chef_type": "node",
		"run_list": ["recipe[a::b@1.0]", "role[r1]", "bare"],
		"policy_name": "pn", "policy_group": null,
		"default":   {"lvl": "default", "only_default": 1, "h": {"x": "d", "y": "d"}, "arr": [1, 2], "name": "attr"},
		"normal":    {"lvl": "normal", "h": {"x": "n"}},
		"override":  {"lvl": "override", "arr": [3]},
		"automatic": {"lvl": "automatic", "h": {"z": "a"}}
	}`)
	got := Flatten("node", node)
	want := map[string][]string{
		"lvl":              {"automatic"},
		"only_default":     {"1"},
		"h":                {"x", "y", "z"},
		"h_x":              {"n"},
		"x":                {"n"},
		"y":                {"d"},
		"z":                {"a"},
		"arr":              {"3"},
		"name":             {"n1"}, // the node's name wins over the attribute
		"chef_type":        {"node"},
		"chef_environment": {"_default"},
		"run_list":         {"recipe[a::b@1.0]", "recipe[bare]", "role[r1]"},
		"recipe":           {"a::b@1.0", "bare"},
		"role":             {"r1"},
		"policy_name":      {"pn"},
		"policy_group":     nil,
		"json_class":       nil,
		"default":          nil,
		"normal_lvl":       nil,
	}
	for k, w := range want {
		if g := got[k]; !slices.Equal(g, w) {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
	if _, ok := node["default"].(map[string]any)["h"].(map[string]any)["z"]; ok {
		t.Error("Flatten changed its input")
	}
}

func TestFlattenRoleAndDataBag(t *testing.T) {
	role := mustJSON(t, `{"name": "web", "chef_type": "role", "json_class": "Chef::Role",
		"run_list": ["recipe[nginx]"], "env_run_lists": {"_default": ["recipe[x]"], "prod": ["recipe[y]"]},
		"default_attributes": {"a": 1}, "override_attributes": {}}`)
	doc := Flatten("role", role)
	if got := doc["env_run_lists"]; !slices.Equal(got, []string{"prod"}) {
		t.Errorf("role env_run_lists = %q, want [prod]", got)
	}
	if got := doc["env_run_lists_prod"]; !slices.Equal(got, []string{"recipe[y]"}) {
		t.Errorf("role env_run_lists_prod = %q", got)
	}
	if _, ok := doc["env_run_lists__default"]; ok {
		t.Error("env_run_lists._default was indexed")
	}
	if got := doc["default_attributes_a"]; !slices.Equal(got, []string{"1"}) {
		t.Errorf("role default_attributes_a = %q", got)
	}
	if len(role["env_run_lists"].(map[string]any)) != 2 {
		t.Error("Flatten changed its input")
	}

	item := mustJSON(t, `{"id": "alice", "ssh": {"public_key": "ssh-rsa AAA alice"}}`)
	wrapped := map[string]any{"name": "data_bag_item_users_alice", "json_class": "Chef::DataBagItem",
		"chef_type": "data_bag_item", "data_bag": "users", "raw_data": item}
	for name, obj := range map[string]map[string]any{"raw": item, "wrapped": wrapped} {
		doc := Flatten("users", obj)
		want := map[string][]string{
			"id": {"alice"}, "chef_type": {"data_bag_item"}, "data_bag": {"users"},
			"ssh_public_key": {"ssh-rsa AAA alice"}, "public_key": {"ssh-rsa AAA alice"}, "ssh": {"public_key"},
			"raw_data_ssh_public_key": nil, "raw_data": nil, "json_class": nil,
		}
		for k, w := range want {
			if g := doc[k]; !slices.Equal(g, w) {
				t.Errorf("%s item: %s = %q, want %q", name, k, g, w)
			}
		}
	}

	client := map[string]any{"name": "c1", "admin": true, "validator": false}
	if got := Flatten("client", client); !maps.EqualFunc(got, Doc{
		"name": {"c1"}, "admin": {"true"}, "validator": {"false"}, "X_CHEF_type_CHEF_X": {"client"},
	}, slices.Equal) {
		t.Errorf("client: %q", got)
	}
}

func TestFlattenNumbers(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{json.Number("2"), "2"},
		{json.Number("-17"), "-17"},
		{json.Number("123456789012345678901234567890"), "123456789012345678901234567890"},
		{json.Number("2.0"), "2.0"},
		{json.Number("1e3"), "1.0e3"},
		{json.Number("1.5"), "1.5"},
		{json.Number("1795348487.52"), "1795348487.52"},
		{float64(1005), "1005"},
		{1795348487.52, "1795348487.52"},
		{0.1, "0.1"},
		{0.001, "0.001"},
		{1e-5, "1.0e-5"},
		{1.5e-7, "1.5e-7"},
		{-2.5, "-2.5"},
		{100.5, "100.5"},
		{1e300, "1.0e300"},
		{float64(1 << 60), "1.152921504606847e18"},
		{3, "3"},
		{int64(-4), "-4"},
		{true, "true"},
		{nil, ""},
	} {
		if got := scalarText(c.in); got != c.want {
			t.Errorf("scalarText(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {10, "10.0"}, {100, "100.0"}, {1000, "1.0e3"}, {1234, "1234.0"}, {12345678, "12345678.0"},
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {0.5, "0.5"}, {123.456, "123.456"},
	} {
		if got := erlangFloat(c.f); got != c.want {
			t.Errorf("erlangFloat(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}
