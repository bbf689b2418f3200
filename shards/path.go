package shards

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Shearch signs every shard request with an admin key, so what a caller
// sends must never shape a shard URL beyond one checked name per segment.
// Every shard path is built here, from names checked against Chef
// Server's own rules (oc_erchef's chef_regex.erl), and Client.Do takes
// only a Path, which no other package can make.

// Kind is an object collection of a Chef organization: the only shard
// endpoints Shearch ever asks, beside search.
type Kind string

const (
	Nodes        Kind = "nodes"
	Roles        Kind = "roles"
	Environments Kind = "environments"
	Clients      Kind = "clients"
	DataBags     Kind = "data"
	Cookbooks    Kind = "cookbooks"
)

// MaxNameLength is Chef Server's bound on object names.
const MaxNameLength = 255

// Path is a shard request path relative to the shard's organization base
// (a shard URL such as https://chef-1/organizations/acme). The zero Path
// is refused by Client.Do.
type Path struct {
	rel  string
	kind Kind
	// name is the object's own name (the item id for a data bag item),
	// unescaped; empty for collections and searches.
	name string
}

// String is the escaped path relative to the organization, with its query.
func (p Path) String() string { return p.rel }

// Kind is the collection the path is in; "" for a search.
func (p Path) Kind() Kind { return p.kind }

// Name is the object the path names, unescaped; "" for a collection.
func (p Path) Name() string { return p.name }

// IsZero reports a Path that no builder made.
func (p Path) IsZero() bool { return p.rel == "" }

// rule is one of Chef Server's name rules.
type rule struct {
	what  string // "node name"
	re    *regexp.Regexp
	chars string // the characters it allows, for the error
}

var (
	// ALTERNATIVE_NAME_REGEX: data bags, data bag items, roles and nodes.
	altChars = regexp.MustCompile(`^[.A-Za-z0-9_:-]+$`)
	// NAME_REGEX: cookbooks, environments and clients.
	nameChars = regexp.MustCompile(`^[.A-Za-z0-9_-]+$`)
	// A cookbook version is MAJOR.MINOR or MAJOR.MINOR.PATCH.
	versionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,2}$`)
	// Organization names: lower case, digits, _ and -, starting with a
	// letter or digit (Chef Server's org name rule).
	orgRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

	nodeRule        = rule{"node name", altChars, "letters, digits, _ - . :"}
	roleRule        = rule{"role name", altChars, "letters, digits, _ - . :"}
	dataBagRule     = rule{"data bag name", altChars, "letters, digits, _ - . :"}
	itemRule        = rule{"data bag item id", altChars, "letters, digits, _ - . :"}
	environmentRule = rule{"environment name", nameChars, "letters, digits, _ - ."}
	clientRule      = rule{"client name", nameChars, "letters, digits, _ - ."}
	cookbookRule    = rule{"cookbook name", nameChars, "letters, digits, _ - ."}
	orgRule         = rule{"organization name", orgRE, "lower-case letters, digits, _ - (starting with a letter or digit)"}
)

var kindRule = map[Kind]rule{Nodes: nodeRule, Roles: roleRule, Environments: environmentRule, Clients: clientRule,
	DataBags: dataBagRule, Cookbooks: cookbookRule}

// NameError is a name that breaks Chef Server's rules: a 400 for the
// caller, never a shard request.
type NameError struct {
	What  string // "node name"
	Name  string
	Rule  string
	Limit int
}

func (e *NameError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.What, e.Name, e.Rule)
}

func (r rule) check(name string) error {
	desc := fmt.Sprintf("Chef %ss are 1-%d characters of %s (and never . or ..)", r.what, MaxNameLength, r.chars)
	if name == "" || name == "." || name == ".." || len(name) > MaxNameLength || !r.re.MatchString(name) {
		return &NameError{What: r.what, Name: name, Rule: desc, Limit: MaxNameLength}
	}
	return nil
}

// CheckName checks one object name of a kind against Chef Server's rule.
func CheckName(kind Kind, name string) error {
	r, ok := kindRule[kind]
	if !ok {
		return fmt.Errorf("unknown object kind %q", kind)
	}
	return r.check(name)
}

// CheckOrg checks an organization name. Shearch never forwards it (each
// shard URL carries its own organization), but a name Chef Server would
// refuse is refused here too.
func CheckOrg(org string) error { return orgRule.check(org) }

// CheckItem checks a data bag item id.
func CheckItem(id string) error { return itemRule.check(id) }

// builtinIndexes are the searchable indexes beside data bags.
var builtinIndexes = map[string]bool{"node": true, "role": true, "client": true, "environment": true}

// CheckIndex checks a search index: node, role, client, environment, or a
// data bag name.
func CheckIndex(index string) error {
	if builtinIndexes[index] {
		return nil
	}
	if err := dataBagRule.check(index); err != nil {
		ne := err.(*NameError)
		ne.What = "search index"
		ne.Rule = "use node, role, client, environment or a data bag name (" + ne.Rule + ")"
		return ne
	}
	return nil
}

// ObjectPath builds a collection or object path: ObjectPath(Nodes) is the
// node list, ObjectPath(Nodes, "web-01") one node, ObjectPath(DataBags,
// "users", "carol") one data bag item, ObjectPath(Cookbooks, "nginx",
// "1.2.0") one cookbook version. Each name is checked; a bad one is a
// *NameError.
func ObjectPath(kind Kind, names ...string) (Path, error) {
	r, ok := kindRule[kind]
	if !ok {
		return Path{}, fmt.Errorf("unknown object kind %q: use nodes, roles, environments, clients, data or cookbooks", kind)
	}
	max := 1
	if kind == DataBags || kind == Cookbooks {
		max = 2
	}
	if len(names) > max {
		return Path{}, fmt.Errorf("%s paths take at most %d name(s), got %d", kind, max, len(names))
	}
	segs := []string{string(kind)}
	for i, n := range names {
		var err error
		switch {
		case i == 0:
			err = r.check(n)
		case kind == DataBags:
			err = itemRule.check(n)
		default: // a cookbook version
			if !versionRE.MatchString(n) {
				err = &NameError{What: "cookbook version", Name: n, Rule: "Chef cookbook versions are MAJOR.MINOR or MAJOR.MINOR.PATCH"}
			}
		}
		if err != nil {
			return Path{}, err
		}
		segs = append(segs, url.PathEscape(n))
	}
	p := Path{rel: strings.Join(segs, "/"), kind: kind}
	if len(names) > 0 {
		p.name = names[len(names)-1]
	}
	return p, nil
}

// CollectionPath is the list of a kind's objects; an unknown kind gives
// the zero Path, which Client.Do refuses.
func CollectionPath(kind Kind) Path {
	p, err := ObjectPath(kind)
	if err != nil {
		return Path{}
	}
	return p
}

// EnvironmentNodesPath is the node list of one environment.
func EnvironmentNodesPath(env string) (Path, error) {
	p, err := ObjectPath(Environments, env)
	if err != nil {
		return Path{}, err
	}
	return Path{rel: p.rel + "/nodes", kind: Nodes}, nil
}

// CookbookVersionsPath lists every cookbook with all its versions.
func CookbookVersionsPath() Path {
	return Path{rel: "cookbooks?num_versions=all", kind: Cookbooks}
}

// SearchPath is one page of a search. The query travels escaped in the
// query string, so it never reaches the path.
func SearchPath(index, q string, start, rows int) (Path, error) {
	if err := CheckIndex(index); err != nil {
		return Path{}, err
	}
	if start < 0 || rows < 0 {
		return Path{}, fmt.Errorf("search start and rows must be non-negative, got %d and %d", start, rows)
	}
	v := url.Values{"q": {q}, "start": {strconv.Itoa(start)}, "rows": {strconv.Itoa(rows)}}
	return Path{rel: "search/" + url.PathEscape(index) + "?" + v.Encode()}, nil
}
