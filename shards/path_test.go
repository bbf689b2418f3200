package shards_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shearch/shearch/shards"
)

// allowedPath is every path Shearch may ask a shard for, relative to its
// organization: a collection, or checked names under it.
var allowedPath = regexp.MustCompile(`^(search/[.A-Za-z0-9_:-]+\?.*|(nodes|roles|environments|clients|data|cookbooks)(/[.A-Za-z0-9_:-]+){0,2}(\?num_versions=all)?)$`)

func TestNamesFollowChefServerRules(t *testing.T) {
	good := []struct {
		kind  shards.Kind
		names []string
	}{
		{shards.Nodes, []string{"web-01.prod.example.com"}},
		{shards.Nodes, []string{"host:8080"}},
		{shards.Roles, []string{"base:linux"}},
		{shards.Environments, []string{"_default"}},
		{shards.Clients, []string{"chef-validator"}},
		{shards.DataBags, []string{"users", "carol"}},
		{shards.DataBags, []string{"a:b", "c:d"}},
		{shards.Cookbooks, []string{"nginx", "1.2.0"}},
		{shards.Nodes, []string{strings.Repeat("n", 255)}},
	}
	for _, g := range good {
		p, err := shards.ObjectPath(g.kind, g.names...)
		if err != nil {
			t.Errorf("%s %q refused: %v", g.kind, g.names, err)
			continue
		}
		if !allowedPath.MatchString(p.String()) || p.Name() != g.names[len(g.names)-1] {
			t.Errorf("%s %q built %q name %q", g.kind, g.names, p, p.Name())
		}
	}
	bad := []struct {
		kind  shards.Kind
		names []string
		want  string
	}{
		{shards.Nodes, []string{".."}, `invalid node name "..": Chef node names are 1-255 characters of letters, digits, _ - . : (and never . or ..)`},
		{shards.Nodes, []string{"."}, "node name"},
		{shards.Nodes, []string{""}, "node name"},
		{shards.Nodes, []string{"../../users"}, "node name"},
		{shards.Nodes, []string{`a\b`}, "node name"},
		{shards.Nodes, []string{"a\x00b"}, "node name"},
		{shards.Nodes, []string{"a%2Fb"}, "node name"},
		{shards.Nodes, []string{"web 01"}, "node name"},
		{shards.Nodes, []string{"wéb"}, "node name"},
		{shards.Nodes, []string{strings.Repeat("n", 256)}, "1-255"},
		{shards.Environments, []string{"a:b"}, "environment name"},
		{shards.Clients, []string{"a:b"}, "client name"},
		{shards.DataBags, []string{"users", ".."}, "data bag item id"},
		{shards.DataBags, []string{"..", "x"}, "data bag name"},
		{shards.Cookbooks, []string{"nginx", "../1"}, "cookbook version"},
		{shards.Roles, []string{"a", "b"}, "at most 1"},
		{shards.Kind("users"), nil, "unknown object kind"},
	}
	for _, b := range bad {
		_, err := shards.ObjectPath(b.kind, b.names...)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s %q: got %v, want an error with %q", b.kind, b.names, err, b.want)
		}
	}
	for _, idx := range []string{"..", "node/../users", "%2e%2e", ""} {
		if _, err := shards.SearchPath(idx, "*:*", 0, 10); err == nil {
			t.Errorf("search index %q accepted", idx)
		}
	}
	for _, org := range []string{"..", "Acme", "a/b", "", "-x"} {
		if shards.CheckOrg(org) == nil {
			t.Errorf("org %q accepted", org)
		}
	}
	if err := shards.CheckOrg("acme_01-x"); err != nil {
		t.Error(err)
	}
	p, err := shards.SearchPath("node", "name:a/../b&rows=9#x", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.String())
	if u.Path != "search/node" || u.Query().Get("q") != "name:a/../b&rows=9#x" || u.Query().Get("rows") != "10" {
		t.Fatalf("search path %q", p)
	}
	if got := shards.CollectionPath("users"); !got.IsZero() {
		t.Fatalf("collection of an unknown kind: %q", got)
	}
}

// FuzzShardPath: whatever names a caller sends, a built path is one of the
// allowed shapes, and resolving it under an org base stays in that org.
func FuzzShardPath(f *testing.F) {
	for _, s := range []string{"web-01", "..", ".", "../../users", "%2e%2e", "a%2Fb", `a\b`, "a\x00", "%252e%252e", "a/b", "users"} {
		f.Add(s, s, s, 0)
	}
	kinds := []shards.Kind{shards.Nodes, shards.Roles, shards.Environments, shards.Clients, shards.DataBags, shards.Cookbooks}
	base, _ := url.Parse("https://chef-1.example.com/organizations/acme/")
	f.Fuzz(func(t *testing.T, a, b, q string, k int) {
		var paths []shards.Path
		kind := kinds[uint(k)%uint(len(kinds))]
		for _, names := range [][]string{{a}, {a, b}} {
			if p, err := shards.ObjectPath(kind, names...); err == nil {
				paths = append(paths, p)
			}
		}
		if p, err := shards.EnvironmentNodesPath(a); err == nil {
			paths = append(paths, p)
		}
		if p, err := shards.SearchPath(a, q, 0, 10); err == nil {
			paths = append(paths, p)
		}
		for _, p := range paths {
			if !allowedPath.MatchString(p.String()) {
				t.Fatalf("built %q from %q %q", p, a, b)
			}
			rel, err := url.Parse(p.String())
			if err != nil {
				t.Fatalf("built %q: %v", p, err)
			}
			u := base.ResolveReference(rel)
			if !strings.HasPrefix(u.EscapedPath(), "/organizations/acme/") || strings.Contains(u.EscapedPath(), "%") {
				t.Fatalf("%q resolves to %s", p, u)
			}
			for _, seg := range strings.Split(u.Path, "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("%q resolves to %s", p, u)
				}
			}
		}
	})
}
