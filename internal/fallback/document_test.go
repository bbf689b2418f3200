package fallback_test

import (
	"reflect"
	"testing"

	"github.com/shearch/shearch/internal/fallback"
	"github.com/shearch/shearch/query"
)

var web01 = fallback.Entry{
	Name:    "web-01.prod.example.com",
	Address: "127.0.0.11",
	Meta: map[string]string{"chef_environment": "prod", "chef_shard": "chef-2", "fqdn": "web-01.prod.example.com",
		"platform": "ubuntu", "platform_version": "20.04"},
	Tags: []string{"role:web", "role:base", "recipe:nginx", "recipe:app::web", "tag:foo", "tag:frontend"},
}

// The document carries exactly what Consul knows, where Chef keeps it, so
// the query evaluator and partial-search paths read it like a Chef node.
func TestDocument(t *testing.T) {
	got := fallback.Document(web01)
	want := map[string]any{
		"name": "web-01.prod.example.com", "chef_type": "node", "json_class": "Chef::Node", "chef_environment": "prod",
		"run_list": []any{"role[web]", "role[base]"},
		"automatic": map[string]any{
			"ipaddress": "127.0.0.11", "fqdn": "web-01.prod.example.com", "platform": "ubuntu", "platform_version": "20.04",
			"roles": []any{"web", "base"}, "recipes": []any{"nginx", "app::web"},
		},
		"normal":  map[string]any{"tags": []any{"foo", "frontend"}},
		"default": map[string]any{}, "override": map[string]any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Document:\n got %#v\nwant %#v", got, want)
	}

	// A node Consul knows little about: nothing is invented for it.
	bare := fallback.Document(fallback.Entry{Name: "new-node-01", Meta: map[string]string{"chef_shard": "chef-3"}})
	auto := bare["automatic"].(map[string]any)
	if bare["chef_environment"] != "_default" {
		t.Errorf("chef_environment = %v, want _default", bare["chef_environment"])
	}
	for _, k := range []string{"ipaddress", "fqdn", "platform", "platform_version"} {
		if _, ok := auto[k]; ok {
			t.Errorf("automatic.%s = %v, want absent", k, auto[k])
		}
	}
	if !reflect.DeepEqual(bare["run_list"], []any{}) || !reflect.DeepEqual(auto["roles"], []any{}) {
		t.Errorf("empty lists should be [], got run_list %#v roles %#v", bare["run_list"], auto["roles"])
	}
}

func TestPartialData(t *testing.T) {
	doc := fallback.Document(web01)
	got := fallback.PartialData(doc, map[string][]string{
		"ip": {"ipaddress"}, "name": {"name"}, "env": {"chef_environment"}, "tags": {"tags"},
		"kernel": {"kernel", "release"}, "deep": {"ipaddress", "x"}, "empty": {},
	})
	want := map[string]any{
		"ip": "127.0.0.11", "name": "web-01.prod.example.com", "env": "prod", "tags": []any{"foo", "frontend"},
		"kernel": nil, "deep": nil, "empty": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PartialData:\n got %#v\nwant %#v", got, want)
	}
}

// Match decides what Consul can decide and leaves the rest out, naming
// the fields that stayed open.
func TestMatch(t *testing.T) {
	doc := fallback.Document(web01)
	cases := []struct {
		q         string
		match     bool
		unchecked []string
	}{
		{"*:*", true, nil},
		{"role:web", true, nil},
		{"roles:base", true, nil},
		{"role:db", false, nil},
		{"chef_environment:prod AND platform:ubuntu", true, nil},
		{"chef_environment:dev", false, nil},
		{"tags:foo", true, nil},
		{"name:web*", true, nil},
		{"ipaddress:127.0.0.11", true, nil},
		{"recipes:app\\:\\:web", true, nil},
		{"platform_version:[20 TO 22.04]", true, nil},
		// Consul holds no kernel: such a row can neither be returned nor
		// ruled out.
		{"kernel_release:5*", false, []string{"kernel_release"}},
		{"NOT kernel_release:5*", false, []string{"kernel_release"}},
		{"role:web AND kernel_release:5*", false, []string{"kernel_release"}},
		// ...unless the known part settles it either way.
		{"role:web OR kernel_release:5*", true, nil},
		{"role:db AND kernel_release:5*", false, nil},
		// The run list's own recipes are not in Consul.
		{"recipe:nginx", false, []string{"recipe"}},
		// Chef indexes merged attributes only: this path is empty there too.
		{"automatic_ipaddress:127.0.0.11", false, nil},
	}
	for _, tc := range cases {
		q, err := query.Parse(tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		match, unchecked := fallback.Match(q, doc)
		if match != tc.match || !reflect.DeepEqual(unchecked, tc.unchecked) {
			t.Errorf("%s: got %v %v, want %v %v", tc.q, match, unchecked, tc.match, tc.unchecked)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := fallback.New(fallback.Config{}); err == nil {
		t.Error("New with no address: no error")
	}
	c, err := fallback.New(fallback.Config{Address: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
