package gnife

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/knife"
)

// knife's node write commands: node delete, node run_list add|remove|set,
// node environment set, node from file, node edit; and tag create|delete.
func nodeWriteCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		writeCmd(env, "delete", "node delete", "delete nodes, each on the shard that holds it", nil, runNodeDelete),
		{
			Name:  "run_list",
			Usage: "knife node run_list add|remove|set",
			Subcommands: []*cli.Command{
				writeCmd(env, "add", "node run_list add", "add entries to a node's run list", []cli.Flag{
					&cli.StringFlag{Name: "after", Aliases: []string{"a"}},
					&cli.StringFlag{Name: "before", Aliases: []string{"b"}},
				}, runRunListAdd),
				writeCmd(env, "remove", "node run_list remove", "remove entries from a node's run list", nil, runRunListRemove),
				writeCmd(env, "set", "node run_list set", "replace a node's run list", nil, runRunListSet),
			},
		},
		{
			Name:        "environment",
			Usage:       "knife node environment set",
			Subcommands: []*cli.Command{writeCmd(env, "set", "node environment set", "set a node's environment", nil, runNodeEnvironmentSet)},
		},
		{
			Name:        "from",
			Usage:       "knife node from file",
			Subcommands: []*cli.Command{writeCmd(env, "file", "node from file", "create or update nodes from JSON files", nil, runNodeFromFile)},
		},
		writeCmd(env, "edit", "node edit", "edit a node in $EDITOR", []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}},
		}, runNodeEdit),
	}
}

func tagWriteCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		writeCmd(env, "create", "tag create", "add tags to a node", nil, runTagCreate),
		writeCmd(env, "delete", "tag delete", "remove tags from a node", nil, runTagDelete),
	}
}

func (w *writer) saveNode(node map[string]any) error {
	return w.save(nodeRef(fmt.Sprint(node["name"])), node)
}

func runNodeDelete(c *cli.Context, w *writer) error {
	if c.NArg() == 0 {
		return w.usage("You must specify at least one node name")
	}
	for _, name := range c.Args().Slice() {
		if err := w.confirm("Do you really want to delete " + name); err != nil {
			return err
		}
		node, err := w.get(nodeRef(name))
		if err != nil {
			return err
		}
		if _, err := w.del(nodeRef(name)); err != nil {
			return err
		}
		if c.Bool("print-after") {
			if err := w.display(knife.KindNode, node, knife.ShowOptions{}); err != nil {
				return err
			}
		}
		w.out("Deleted node[" + name + "]\n")
	}
	return nil
}

// Chef::RunList::RunListItem's parsing of a string entry.
// They are compiled on first use: package init runs on every gnife start.
var (
	qualifiedRecipe   = lazyRE(`^recipe\[([^\]@]+)(@([0-9]+(\.[0-9]+){1,2}))?\]$`)
	qualifiedRole     = lazyRE(`^role\[([^\]]+)\]$`)
	versionedUnqualed = lazyRE(`^([^@]+)(@([0-9]+(\.[0-9]+){1,2}))$`)
	falseFriend       = lazyRE(`[\[\]]`)
)

// lazyRE is a regexp compiled on its first use.
func lazyRE(src string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(src) })
}

func runListItem(e string) (string, error) {
	switch {
	case qualifiedRecipe().MatchString(e), qualifiedRole().MatchString(e):
		return e, nil
	case versionedUnqualed().MatchString(e):
		return "recipe[" + e + "]", nil
	case falseFriend().MatchString(e):
		return "", exitf(ExitNotFound, "ERROR: ArgumentError: Unable to create Chef::RunList::RunListItem from String:%q: must be recipe[] or role[]", e)
	}
	return "recipe[" + e + "]", nil
}

// runList is the node's run list as strings.
func nodeRunList(node map[string]any) []string {
	var out []string
	if l, ok := node["run_list"].([]any); ok {
		for _, v := range l {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

// appendItems is RunList#<< for each entry: one already there is not added twice.
func appendItems(list []string, entries []string) ([]string, error) {
	for _, e := range entries {
		item, err := runListItem(e)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(list, item) {
			list = append(list, item)
		}
	}
	return list, nil
}

func setRunList(node map[string]any, list []string) {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	node["run_list"] = out
}

// entries is knife's reading of ENTRY arguments: each split on commas.
func entries(args []string) []string {
	var out []string
	for _, a := range args {
		for _, e := range strings.Split(a, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

func runRunListAdd(c *cli.Context, w *writer) error {
	if c.NArg() < 2 {
		return w.usage("You must supply both a node name and a run list.")
	}
	node, err := w.get(nodeRef(c.Args().First()))
	if err != nil {
		return err
	}
	add := entries(c.Args().Slice()[1:])
	after, before := c.String("after"), c.String("before")
	if after != "" && before != "" {
		return exitf(ExitUsage, "FATAL: You cannot specify both --before and --after!")
	}
	var list []string
	switch {
	case after != "" || before != "":
		var nlist []string
		for _, item := range nodeRunList(node) {
			if before != "" && item == before {
				nlist = append(nlist, add...)
			}
			nlist = append(nlist, item)
			if after != "" && item == after {
				nlist = append(nlist, add...)
			}
		}
		if list, err = appendItems(list, nlist); err != nil {
			return err
		}
	default:
		if list, err = appendItems(nodeRunList(node), add); err != nil {
			return err
		}
	}
	return w.saveRunList(node, list)
}

func runRunListRemove(c *cli.Context, w *writer) error {
	if c.NArg() < 2 {
		return w.usage("You must supply both a node name and a run list.")
	}
	node, err := w.get(nodeRef(c.Args().First()))
	if err != nil {
		return err
	}
	list := nodeRunList(node)
	for _, e := range entries(c.Args().Slice()[1:]) {
		found := false
		kept := list[:0:0]
		for _, item := range list {
			if item == e {
				found = true
				continue
			}
			kept = append(kept, item)
		}
		list = kept
		if !found {
			w.warn(e + " is not in the run list")
			if !strings.HasPrefix(e, "recipe[") && !strings.HasPrefix(e, "role[") {
				w.warn("(did you forget recipe[] or role[] around it?)")
			}
		}
	}
	return w.saveRunList(node, list)
}

func runRunListSet(c *cli.Context, w *writer) error {
	if c.NArg() < 2 {
		return w.usage("You must supply both a node name and a run list.")
	}
	add := entries(c.Args().Slice()[1:])
	node, err := w.get(nodeRef(c.Args().First()))
	if err != nil {
		return err
	}
	list, err := appendItems(nil, add)
	if err != nil {
		return err
	}
	return w.saveRunList(node, list)
}

func runNodeEnvironmentSet(c *cli.Context, w *writer) error {
	if c.NArg() < 2 {
		return w.usage("You must specify a node name and an environment.")
	}
	node, err := w.get(nodeRef(c.Args().First()))
	if err != nil {
		return err
	}
	node["chef_environment"] = c.Args().Get(1)
	if err := w.saveNode(node); err != nil {
		return err
	}
	return w.display(knife.KindNode, node, knife.ShowOptions{Environment: true})
}

// nodeDefaults fills what Chef::Node.from_hash(...).to_json would send.
func nodeDefaults(n map[string]any) map[string]any {
	setDefault(n, "json_class", "Chef::Node")
	setDefault(n, "chef_type", "node")
	setDefault(n, "chef_environment", "_default")
	setDefault(n, "run_list", []any{})
	for _, k := range []string{"normal", "default", "override", "automatic"} {
		setDefault(n, k, map[string]any{})
	}
	// Chef::Node#for_json leaves out a policy it does not have (and goiardi
	// refuses the keys).
	for _, k := range []string{"policy_name", "policy_group"} {
		if v, ok := n[k]; ok && v == nil {
			delete(n, k)
		}
	}
	return n
}

func setDefault(m map[string]any, k string, v any) {
	if m[k] == nil {
		m[k] = v
	}
}

func runNodeFromFile(c *cli.Context, w *writer) error {
	for _, arg := range c.Args().Slice() {
		node, err := w.loadFile("nodes", arg)
		if err != nil {
			return err
		}
		nodeDefaults(node)
		if err := w.saveNode(node); err != nil {
			return err
		}
		if c.Bool("print-after") {
			if err := w.display(knife.KindNode, node, knife.ShowOptions{}); err != nil {
				return err
			}
		}
		w.info(fmt.Sprintf("Updated Node %v", node["name"]))
	}
	return nil
}

func runNodeEdit(c *cli.Context, w *writer) error {
	if c.NArg() == 0 {
		return w.usage("You must specify a node name")
	}
	name := c.Args().First()
	node, err := w.get(nodeRef(name))
	if err != nil {
		return err
	}
	if c.Bool("disable-editing") {
		return exitf(ExitUsage, "ERROR: You specified the --disable_editing option, nothing to edit")
	}
	if firstNonEmpty(c.String("editor"), envEditor()) == "" {
		return exitf(ExitUsage, "ERROR: You must set your EDITOR environment variable or configure your editor via knife.rb")
	}
	view := ordered{{"name", node["name"]}, {"chef_environment", node["chef_environment"]},
		{"normal", orMap(node["normal"])}, {"policy_name", node["policy_name"]},
		{"policy_group", node["policy_group"]}, {"run_list", orList(node["run_list"])}}
	if c.Bool("all") {
		view = append(view, kv{"default", orMap(node["default"])}, kv{"override", orMap(node["override"])},
			kv{"automatic", orMap(node["automatic"])})
	}
	edited, err := w.edit(view)
	if err != nil {
		return err
	}
	if edited["name"] != node["name"] {
		w.warn(fmt.Sprintf("Changing the name of a node results in a new node being created, %v will not be modified or removed.", node["name"]))
		if err := w.confirm("Proceed with creation of new node"); err != nil {
			return err
		}
	}
	if !c.Bool("all") {
		for _, k := range []string{"automatic", "default", "override"} {
			edited[k] = node[k]
		}
	}
	nodeDefaults(edited)
	var changed []string
	for _, k := range []string{"name", "chef_environment", "automatic", "default", "normal", "override", "policy_name", "policy_group", "run_list"} {
		if !sameJSON(nodeDefaults(copyMap(node))[k], edited[k]) {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		w.info("Node not updated, skipping node save")
		return nil
	}
	w.info(fmt.Sprintf("Saving updated %s on node %v", strings.Join(changed, ", "), node["name"]))
	return w.saveNode(edited)
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func orMap(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

func orList(v any) any {
	if v == nil {
		return []any{}
	}
	return v
}

// nodeTags is Chef::Node#tags: normal.tags as a list.
func nodeTags(node map[string]any) []string {
	normal, _ := node["normal"].(map[string]any)
	if normal == nil {
		normal = map[string]any{}
		node["normal"] = normal
	}
	var out []string
	switch t := normal["tags"].(type) {
	case []any:
		for _, v := range t {
			out = append(out, fmt.Sprint(v))
		}
	case string:
		out = []string{t}
	}
	return out
}

func setTags(node map[string]any, tags []string) {
	l := make([]any, len(tags))
	for i, t := range tags {
		l[i] = t
	}
	node["normal"].(map[string]any)["tags"] = l
}

func runTagCreate(c *cli.Context, w *writer) error {
	if c.NArg() < 2 {
		return w.usage("You must specify a node name and at least one tag.")
	}
	name, tags := c.Args().First(), c.Args().Slice()[1:]
	node, err := w.get(nodeRef(name))
	if err != nil {
		return err
	}
	have := nodeTags(node)
	for _, t := range tags {
		dup := false
		for _, h := range have {
			dup = dup || h == t
		}
		if !dup {
			have = append(have, t)
		}
	}
	setTags(node, have)
	if err := w.saveNode(node); err != nil {
		return err
	}
	w.info(fmt.Sprintf("Created tags %s for node %s.", strings.Join(tags, ", "), name))
	return nil
}

func runTagDelete(c *cli.Context, w *writer) error {
	if c.NArg() < 2 {
		return w.usage("You must specify a node name and at least one tag.")
	}
	name, tags := c.Args().First(), c.Args().Slice()[1:]
	node, err := w.get(nodeRef(name))
	if err != nil {
		return err
	}
	have := nodeTags(node)
	var deleted []string
	for _, t := range tags {
		kept := have[:0:0]
		for _, h := range have {
			if h != t {
				kept = append(kept, h)
			}
		}
		if len(kept) != len(have) {
			deleted = append(deleted, t)
		}
		have = kept
	}
	setTags(node, have)
	if err := w.saveNode(node); err != nil {
		return err
	}
	if len(deleted) == 0 {
		w.info("Nothing has changed. The tags requested to be deleted do not exist.")
	} else {
		w.info(fmt.Sprintf("Deleted tags %s for node %s.", strings.Join(deleted, ", "), name))
	}
	return nil
}

// saveRunList stores a node's new run list and shows it, as knife's
// run_list commands do.
func (w *writer) saveRunList(node map[string]any, list []string) error {
	setRunList(node, list)
	if err := w.saveNode(node); err != nil {
		return err
	}
	return w.display(knife.KindNode, node, knife.ShowOptions{RunList: true})
}
