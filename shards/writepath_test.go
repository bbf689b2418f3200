package shards

import "testing"

func TestWritePathForms(t *testing.T) {
	for _, c := range []struct {
		method string
		kind   Kind
		names  []string
		want   string
	}{
		{"POST", Nodes, nil, "nodes"},
		{"PUT", Nodes, []string{"web-01.example.com"}, "nodes/web-01.example.com"},
		{"DELETE", Roles, []string{"web"}, "roles/web"},
		{"POST", Environments, nil, "environments"},
		{"POST", DataBags, nil, "data"},
		{"POST", DataBags, []string{"users"}, "data/users"},
		{"DELETE", DataBags, []string{"users"}, "data/users"},
		{"PUT", DataBags, []string{"users", "alice"}, "data/users/alice"},
		{"DELETE", DataBags, []string{"users", "alice"}, "data/users/alice"},
	} {
		p, err := WritePath(c.method, c.kind, c.names...)
		if err != nil || p.String() != c.want {
			t.Errorf("%s %s %v: %q %v, want %q", c.method, c.kind, c.names, p.String(), err, c.want)
		}
	}
	for _, c := range []struct {
		method string
		kind   Kind
		names  []string
	}{
		{"PUT", Nodes, nil}, {"POST", Nodes, []string{"x"}}, {"PUT", DataBags, []string{"users"}},
		{"POST", Clients, nil}, {"DELETE", Cookbooks, []string{"nginx"}}, {"PATCH", Roles, []string{"web"}},
		{"GET", Roles, []string{"web"}}, {"PUT", Roles, []string{"../admin"}}, {"DELETE", DataBags, []string{"users", "a/b"}},
	} {
		if p, err := WritePath(c.method, c.kind, c.names...); err == nil {
			t.Errorf("%s %s %v: %q, want an error", c.method, c.kind, c.names, p.String())
		}
	}
}
