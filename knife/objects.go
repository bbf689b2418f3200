package knife

// chefObject is what knife holds after Chef::Search::Query or a show command
// turned a server hash into a Chef::Node, Chef::Role, ... The interface covers
// the few things the presenters ask of such an object.
type chefObject interface {
	// displayHash is what TextFormatter prints (display_hash or to_hash).
	displayHash() Object
	// forJSON is the object's own to_json document, in its key order.
	forJSON() Object
	// nameOrID is GenericPresenter#name_or_id_for.
	nameOrID() any
	// lookup is the first step of extract_nested_value: a key when the
	// object answers key?, else a public method of that name.
	lookup(key string) (any, bool)
}

// Kind names the Chef class a server hash is loaded as.
type Kind string

// The kinds knife's show and search commands load objects as. KindHash is a
// plain hash, shown as is (a data bag item's raw data in `data bag show`).
const (
	KindNode        Kind = "node"
	KindRole        Kind = "role"
	KindEnvironment Kind = "environment"
	KindClient      Kind = "client"   // Chef::ApiClient, what search returns
	KindClientV1    Kind = "clientv1" // Chef::ApiClientV1, what `client show` loads
	KindDataBagItem Kind = "data_bag_item"
	KindHash        Kind = "hash"
	// KindDecryptedItem is EncryptedDataBagItem#to_h, a plain Hash (no
	// Mash tag in YAML).
	KindDecryptedItem Kind = "decrypted_item"
)

// searchKind is Chef::Search::Query's choice of class by index name: any
// index that is not a built-in one is a data bag.
func searchKind(index string) Kind {
	switch index {
	case "node", "role", "environment", "client":
		return Kind(index)
	}
	return KindDataBagItem
}

// load builds the object knife would hold for a server hash of this kind.
func load(kind Kind, m map[string]any) any {
	switch kind {
	case KindNode:
		return newNode(m)
	case KindRole:
		return newRole(m)
	case KindEnvironment:
		return newEnvironment(m)
	case KindClient:
		return newAPIClient(m, false)
	case KindClientV1:
		return newAPIClient(m, true)
	case KindDataBagItem:
		return newDataBagItem(m)
	}
	return m
}

func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

func asString(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

// runList is a Chef::RunList: normalised entries ("recipe[x]", "role[y]"),
// printed joined with ", " and serialised by its own to_json.
type runList []string

func (r runList) items() []any {
	out := make([]any, len(r))
	for i, s := range r {
		out[i] = s
	}
	return out
}

var (
	qualifiedRecipe    = lazyRE(`^recipe\[([^\]@]+)(@([0-9]+(\.[0-9]+){1,2}))?\]$`)
	qualifiedRole      = lazyRE(`^role\[([^\]]+)\]$`)
	versionedUnqRecipe = lazyRE(`^([^@]+)(@([0-9]+(\.[0-9]+){1,2}))$`)
)

// newRunList is RunList#reset!: entries are parsed into RunListItems (a bare
// name is a recipe) and duplicates dropped.
func newRunList(v any) runList {
	var out runList
	seen := map[string]bool{}
	for _, e := range rubyArray(v) {
		var item string
		switch x := e.(type) {
		case string:
			switch {
			case qualifiedRecipe.MatchString(x), qualifiedRole.MatchString(x):
				item = x
			case versionedUnqRecipe.MatchString(x):
				item = "recipe[" + x + "]"
			default:
				item = "recipe[" + x + "]"
			}
		case map[string]any:
			item = rubyToS(x["type"]) + "[" + rubyToS(x["name"])
			if ver, ok := x["version"]; ok && truthy(ver) {
				item += "@" + rubyToS(ver)
			}
			item += "]"
		default:
			item = "recipe[" + rubyToS(x) + "]"
		}
		if !seen[item] {
			seen[item] = true
			out = append(out, item)
		}
	}
	return out
}

// node is a Chef::Node as Node.from_hash builds it.
type node struct {
	name                      any
	env                       string
	policyName, policyGroup   any
	hasPolicyName, hasPolicyG bool
	automatic, normal         map[string]any
	deflt, override           map[string]any
	runList                   runList
}

func newNode(m map[string]any) *node {
	n := &node{name: m["name"], env: "_default"}
	n.policyName, n.hasPolicyName = m["policy_name"]
	n.policyGroup, n.hasPolicyG = m["policy_group"]
	if s, ok := n.policyGroup.(string); ok {
		n.env = s
	} else if s, ok := m["chef_environment"].(string); ok {
		n.env = s
	}
	n.normal = asMap(m["attributes"])
	if _, ok := m["normal"]; ok {
		n.normal = asMap(m["normal"])
	}
	n.automatic = asMap(m["automatic"])
	n.deflt = asMap(m["default"])
	n.override = asMap(m["override"])
	if rl, ok := m["run_list"]; ok {
		n.runList = newRunList(rl)
	} else if rl, ok := m["recipes"]; ok {
		n.runList = newRunList(rl)
	}
	return n
}

func (n *node) policy() bool { return n.policyName != nil || n.policyGroup != nil }

// attr is node[key]: the merged view over the four precedence levels, where
// hashes merge deeply, higher levels replace anything else and nil never
// replaces (Chef::Node::Attribute#merge_all / hash_only_merge!).
func (n *node) attr(key string) any {
	var merged any
	present := false
	for _, level := range []map[string]any{n.deflt, n.normal, n.override, n.automatic} {
		v, ok := level[key]
		if !ok {
			continue
		}
		if !present {
			merged, present = v, true
			continue
		}
		merged = hashOnlyMerge(merged, v)
	}
	return merged
}

// mergedAttributes is the whole merged view, node[key] for every key of
// every level.
func (n *node) mergedAttributes() map[string]any {
	out := map[string]any{}
	for _, level := range []map[string]any{n.deflt, n.normal, n.override, n.automatic} {
		for k := range level {
			if _, done := out[k]; !done {
				out[k] = n.attr(k)
			}
		}
	}
	return out
}

func (n *node) hasAttr(key string) bool {
	for _, level := range []map[string]any{n.deflt, n.normal, n.override, n.automatic} {
		if _, ok := level[key]; ok {
			return true
		}
	}
	return false
}

func hashOnlyMerge(onto, with any) any {
	om, ok1 := onto.(map[string]any)
	wm, ok2 := with.(map[string]any)
	if ok1 && ok2 {
		out := make(map[string]any, len(om)+len(wm))
		for k, v := range om {
			out[k] = v
		}
		for k, v := range wm {
			if old, ok := out[k]; ok {
				out[k] = hashOnlyMerge(old, v)
			} else {
				out[k] = v
			}
		}
		return out
	}
	if with == nil {
		return onto
	}
	return with
}

// tags is Node#tags: Array(normal["tags"]). Ruby also writes that array back
// into normal, which is why `-m` always shows a tags key.
func (n *node) tags() []any { return rubyArray(n.normal["tags"]) }

func (n *node) displayHash() Object {
	return Object{
		{"name", n.name},
		{"chef_environment", n.env},
		{"automatic", n.automatic},
		{"normal", n.normal},
		{"default", n.deflt},
		{"override", n.override},
		{"run_list", n.runList.items()},
	}
}

func (n *node) forJSON() Object {
	o := Object{
		{"name", n.name},
		{"chef_environment", n.env},
		{"json_class", "Chef::Node"},
		{"automatic", n.automatic},
		{"normal", n.normal},
		{"chef_type", "node"},
		{"default", n.deflt},
		{"override", n.override},
		{"run_list", n.runList.items()},
	}
	if n.policy() {
		o = append(o, Field{"policy_name", n.policyName}, Field{"policy_group", n.policyGroup})
	}
	return o
}

func (n *node) nameOrID() any { return n.name }

func (n *node) lookup(key string) (any, bool) {
	if n.hasAttr(key) {
		return n.attr(key), true
	}
	switch key {
	case "name":
		return n.name, true
	case "chef_environment":
		return n.env, true
	case "run_list":
		return n.runList, true
	case "policy_name":
		return n.policyName, true
	case "policy_group":
		return n.policyGroup, true
	case "tags":
		return n.tags(), true
	case "normal", "normal_attrs":
		return n.normal, true
	case "default", "default_attrs":
		return n.deflt, true
	case "override", "override_attrs":
		return n.override, true
	case "automatic", "automatic_attrs":
		return n.automatic, true
	}
	return nil, false
}

// role is a Chef::Role as Role.from_hash builds it.
type role struct {
	name, description     any
	deflt, override       any
	runList               runList
	envRunLists           map[string]runList
	envRunListsHasDefault bool
}

func newRole(m map[string]any) *role {
	r := &role{name: asString(m["name"], ""), description: asString(m["description"], "")}
	r.deflt = orEmptyMap(m["default_attributes"])
	r.override = orEmptyMap(m["override_attributes"])
	if rl, ok := m["run_list"]; ok {
		r.runList = newRunList(rl)
	} else {
		r.runList = newRunList(m["recipes"])
	}
	r.envRunLists = map[string]runList{}
	for env, rl := range asMap(m["env_run_lists"]) {
		if env == "_default" {
			r.runList = newRunList(rl)
			continue
		}
		r.envRunLists[env] = newRunList(rl)
	}
	return r
}

func orEmptyMap(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

func (r *role) envRunListsObject() Object {
	var o Object
	for _, env := range sortedRunListKeys(r.envRunLists) {
		o = append(o, Field{env, r.envRunLists[env].items()})
	}
	return o
}

func sortedRunListKeys(m map[string]runList) []string {
	g := make(map[string]any, len(m))
	for k := range m {
		g[k] = nil
	}
	return sortedKeys(g)
}

func (r *role) forJSON() Object {
	return Object{
		{"name", r.name},
		{"description", r.description},
		{"json_class", "Chef::Role"},
		{"default_attributes", r.deflt},
		{"override_attributes", r.override},
		{"chef_type", "role"},
		{"run_list", r.runList.items()},
		{"env_run_lists", r.envRunListsObject()},
	}
}

func (r *role) displayHash() Object { return r.forJSON() }
func (r *role) nameOrID() any       { return r.name }

func (r *role) lookup(key string) (any, bool) {
	switch key {
	case "name":
		return r.name, true
	case "description":
		return r.description, true
	case "default_attributes":
		return r.deflt, true
	case "override_attributes":
		return r.override, true
	case "run_list":
		return r.runList, true
	case "env_run_lists":
		// The getter keeps "_default", and its values are RunLists.
		o := Object{{"_default", r.runList}}
		for _, env := range sortedRunListKeys(r.envRunLists) {
			o = append(o, Field{env, r.envRunLists[env]})
		}
		return o, true
	}
	return nil, false
}

// environment is a Chef::Environment as Environment.from_hash builds it.
type environment struct {
	name, description any
	cookbookVersions  any
	deflt, override   any
}

func newEnvironment(m map[string]any) *environment {
	return &environment{
		name:             asString(m["name"], ""),
		description:      asString(m["description"], ""),
		cookbookVersions: orEmptyMap(m["cookbook_versions"]),
		deflt:            orEmptyMap(m["default_attributes"]),
		override:         orEmptyMap(m["override_attributes"]),
	}
}

func (e *environment) forJSON() Object {
	return Object{
		{"name", e.name},
		{"description", e.description},
		{"cookbook_versions", e.cookbookVersions},
		{"json_class", "Chef::Environment"},
		{"chef_type", "environment"},
		{"default_attributes", e.deflt},
		{"override_attributes", e.override},
	}
}

func (e *environment) displayHash() Object { return e.forJSON() }
func (e *environment) nameOrID() any       { return e.name }

func (e *environment) lookup(key string) (any, bool) {
	for _, f := range e.forJSON() {
		if f.Key == key && key != "json_class" && key != "chef_type" {
			return f.Value, true
		}
	}
	return nil, false
}

// apiClient is a Chef::ApiClient (search rows) or Chef::ApiClientV1
// (`client show`); the two serialise different keys.
type apiClient struct {
	v1                               bool
	name                             any
	admin, validator                 bool
	publicKey, privateKey, createKey any
	hasPrivate, hasPublic, hasCreate bool
}

func newAPIClient(m map[string]any, v1 bool) *apiClient {
	c := &apiClient{v1: v1, name: m["name"]}
	if !truthy(c.name) {
		c.name = m["clientname"]
	}
	if c.name == nil {
		c.name = ""
	}
	c.admin, _ = m["admin"].(bool)
	c.validator, _ = m["validator"].(bool)
	c.privateKey, c.hasPrivate = m["private_key"]
	c.publicKey, c.hasPublic = m["public_key"]
	c.createKey, c.hasCreate = m["create_key"]
	return c
}

func (c *apiClient) forJSON() Object {
	if c.v1 {
		o := Object{{"name", c.name}, {"validator", c.validator}, {"admin", c.admin}, {"chef_type", "client"}}
		if c.privateKey != nil {
			o = append(o, Field{"private_key", c.privateKey})
		}
		if c.publicKey != nil {
			o = append(o, Field{"public_key", c.publicKey})
		}
		if c.createKey != nil {
			o = append(o, Field{"create_key", c.createKey})
		}
		return o
	}
	o := Object{
		{"name", c.name},
		{"public_key", c.publicKey},
		{"validator", c.validator},
		{"admin", c.admin},
		{"json_class", "Chef::ApiClient"},
		{"chef_type", "client"},
	}
	if truthy(c.privateKey) {
		o = append(o, Field{"private_key", c.privateKey})
	}
	return o
}

func (c *apiClient) displayHash() Object { return c.forJSON() }
func (c *apiClient) nameOrID() any       { return c.name }

func (c *apiClient) lookup(key string) (any, bool) {
	switch key {
	case "name":
		return c.name, true
	case "admin":
		return c.admin, true
	case "validator":
		return c.validator, true
	case "public_key":
		return c.publicKey, true
	case "private_key":
		return c.privateKey, true
	case "create_key":
		if c.v1 {
			return c.createKey, true
		}
	}
	return nil, false
}

// dataBagItem is a Chef::DataBagItem as DataBagItem.from_hash builds it from
// either the wrapped form ({"name", "data_bag", "raw_data", ...}) or a flat
// item.
type dataBagItem struct {
	bag any
	raw map[string]any
}

func newDataBagItem(m map[string]any) *dataBagItem {
	h := make(map[string]any, len(m))
	for k, v := range m {
		if k != "chef_type" && k != "json_class" {
			h[k] = v
		}
	}
	d := &dataBagItem{}
	if bag, ok := h["data_bag"]; ok {
		d.bag = bag
		delete(h, "data_bag")
	}
	if raw, ok := h["raw_data"]; ok {
		d.raw = asMap(raw)
	} else {
		d.raw = h
	}
	return d
}

func (d *dataBagItem) displayHash() Object {
	var o Object
	for _, k := range sortedKeys(d.raw) {
		if k != "chef_type" && k != "data_bag" {
			o = append(o, Field{k, d.raw[k]})
		}
	}
	return append(o, Field{"chef_type", "data_bag_item"}, Field{"data_bag", rubyToS(d.bag)})
}

func (d *dataBagItem) nameOrID() any {
	return "data_bag_item_" + rubyToS(d.bag) + "_" + rubyToS(d.raw["id"])
}

func (d *dataBagItem) forJSON() Object {
	return Object{
		{"name", d.nameOrID()},
		{"json_class", "Chef::DataBagItem"},
		{"chef_type", "data_bag_item"},
		{"data_bag", d.bag},
		{"raw_data", d.raw},
	}
}

func (d *dataBagItem) lookup(key string) (any, bool) {
	v, ok := d.raw[key]
	return v, ok
}
