package gnife

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// knife's role, environment and data bag write commands. Shearch sends
// each change to every shard of the stack.

func roleWriteCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{Name: "from", Usage: "knife role from file", Subcommands: []*cli.Command{
			writeCmd(env, "file", "role from file", "create or update roles from JSON files, on every shard", nil, runRoleFromFile)}},
		writeCmd(env, "delete", "role delete", "delete a role from every shard", nil, deleteCmd("role", "roles", "You must specify a role name")),
		writeCmd(env, "edit", "role edit", "edit a role in $EDITOR, on every shard", nil, runRoleEdit),
	}
}

func environmentWriteCommands(env *Env) []*cli.Command {
	return []*cli.Command{
		{Name: "from", Usage: "knife environment from file", Subcommands: []*cli.Command{
			writeCmd(env, "file", "environment from file", "create or update environments from JSON files, on every shard",
				[]cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}}}, runEnvironmentFromFile)}},
		writeCmd(env, "delete", "environment delete", "delete an environment from every shard", nil,
			deleteCmd("environment", "environments", "You must specify an environment name")),
	}
}

func dataBagWriteCommands(env *Env) []*cli.Command {
	secret := []cli.Flag{&cli.StringFlag{Name: "secret"}, &cli.StringFlag{Name: "secret-file"}, &cli.BoolFlag{Name: "encrypt"}}
	return []*cli.Command{
		writeCmd(env, "create", "data bag create", "create a data bag (and an item) on every shard", secret, runDataBagCreate),
		{Name: "from", Usage: "knife data bag from file", Subcommands: []*cli.Command{
			writeCmd(env, "file", "data bag from file", "create or update data bag items from JSON files, on every shard",
				append(secret, &cli.BoolFlag{Name: "all", Aliases: []string{"a"}}), runDataBagFromFile)}},
		writeCmd(env, "delete", "data bag delete", "delete a data bag or an item from every shard", nil, runDataBagDelete),
	}
}

// deleteCmd is knife's delete_object for a role or an environment.
func deleteCmd(kind, coll, missing string) func(*cli.Context, *writer) error {
	return func(c *cli.Context, w *writer) error {
		if c.NArg() == 0 {
			return w.usage(missing)
		}
		name := c.Args().First()
		if err := w.confirm("Do you really want to delete " + name); err != nil {
			return err
		}
		obj, err := w.get(objRef(coll, name))
		if err != nil {
			return err
		}
		if _, err := w.del(objRef(coll, name)); err != nil {
			return err
		}
		if c.Bool("print-after") {
			k := map[string]knife.Kind{"role": knife.KindRole, "environment": knife.KindEnvironment}[kind]
			if err := w.display(k, obj, knife.ShowOptions{}); err != nil {
				return err
			}
		}
		w.out("Deleted " + kind + "[" + name + "]\n")
		return nil
	}
}

// roleDefaults and environmentDefaults fill what Chef's from_hash and
// to_json would send.
func roleDefaults(r map[string]any) map[string]any {
	setDefault(r, "description", "")
	setDefault(r, "json_class", "Chef::Role")
	setDefault(r, "default_attributes", map[string]any{})
	setDefault(r, "override_attributes", map[string]any{})
	setDefault(r, "chef_type", "role")
	setDefault(r, "run_list", []any{})
	setDefault(r, "env_run_lists", map[string]any{})
	return r
}

func environmentDefaults(e map[string]any) map[string]any {
	setDefault(e, "description", "")
	setDefault(e, "cookbook_versions", map[string]any{})
	setDefault(e, "json_class", "Chef::Environment")
	setDefault(e, "chef_type", "environment")
	setDefault(e, "default_attributes", map[string]any{})
	setDefault(e, "override_attributes", map[string]any{})
	return e
}

func runRoleFromFile(c *cli.Context, w *writer) error {
	for _, arg := range c.Args().Slice() {
		if err := w.uploadFile("roles", "Role", knife.KindRole, roleDefaults, arg); err != nil {
			return err
		}
	}
	return nil
}

// uploadFile loads one role or environment file and saves it on every
// shard: "Updated Role web" on stderr, as knife says it.
func (w *writer) uploadFile(coll, label string, kind knife.Kind, defaults func(map[string]any) map[string]any, arg string) error {
	obj, err := w.loadFile(coll, arg)
	if err != nil {
		return err
	}
	defaults(obj)
	name := fmt.Sprint(obj["name"])
	if err := w.save(objRef(coll, name), obj); err != nil {
		return err
	}
	if w.c.Bool("print-after") {
		if err := w.display(kind, obj, knife.ShowOptions{}); err != nil {
			return err
		}
	}
	w.info("Updated " + label + " " + name)
	return nil
}

func runEnvironmentFromFile(c *cli.Context, w *writer) error {
	args := c.Args().Slice()
	if c.Bool("all") {
		args = objectFiles("environments")
		if len(args) == 0 {
			return exitf(ExitUsage, "FATAL: Unable to find any environment files in 'environments'")
		}
	} else if len(args) == 0 {
		return w.usage("You must specify a file to load")
	}
	for _, arg := range args {
		if err := w.uploadFile("environments", "Environment", knife.KindEnvironment, environmentDefaults, arg); err != nil {
			return err
		}
	}
	return nil
}

// objectFiles is ObjectLoader#find_all_objects: the .json and .rb files
// of ./DIR, by base name.
func objectFiles(dir string) []string {
	var out []string
	for _, pat := range []string{"*.json", "*.rb"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			out = append(out, filepath.Base(f))
		}
	}
	sort.Strings(out)
	return out
}

// roleView is a role as Chef::Role#to_json lays it out for the editor.
func roleView(r map[string]any) ordered {
	roleDefaults(r)
	return ordered{{"name", r["name"]}, {"description", r["description"]}, {"json_class", r["json_class"]},
		{"default_attributes", r["default_attributes"]}, {"override_attributes", r["override_attributes"]},
		{"chef_type", r["chef_type"]}, {"run_list", r["run_list"]}, {"env_run_lists", r["env_run_lists"]}}
}

// runRoleEdit is knife's ui.edit_object for a role: saved only when the
// edit changed it.
func runRoleEdit(c *cli.Context, w *writer) error {
	if c.NArg() == 0 {
		return w.usage("You must specify a role name")
	}
	name := c.Args().First()
	role, err := w.get(objRef("roles", name))
	if err != nil {
		return err
	}
	view := roleView(role)
	edited, err := w.edit(view)
	if err != nil {
		return err
	}
	roleDefaults(edited)
	if sameJSON(view, edited) {
		w.out("Object unchanged, not saving\n")
	} else {
		newName := fmt.Sprint(edited["name"])
		if err := w.save(objRef("roles", newName), edited); err != nil {
			return err
		}
		w.out("Saved role[" + newName + "]\n")
	}
	if c.Bool("print-after") {
		return w.display(knife.KindRole, role, knife.ShowOptions{})
	}
	return nil
}

// Chef::DataBag::VALID_NAME.
var dataBagName = lazyRE(`^[.\-[:alnum:]_]+$`)

func (w *writer) noSecrets() error {
	if w.c.String("secret") != "" || w.c.String("secret-file") != "" || w.c.Bool("encrypt") {
		return exitf(ExitUsage, "ERROR: gnife does not encrypt data bag items: use knife for --secret, --secret-file and --encrypt")
	}
	return nil
}

func runDataBagCreate(c *cli.Context, w *writer) error {
	if c.NArg() == 0 {
		return w.usage("You must specify a data bag name")
	}
	if err := w.noSecrets(); err != nil {
		return err
	}
	bag := c.Args().First()
	if !dataBagName().MatchString(bag) {
		return exitf(ExitUsage, "FATAL: DataBags must have a name matching /^[\\.\\-[:alnum:]_]+$/, you gave %q", bag)
	}
	_, err := w.cl.DataBags().List(w.env.ctx(), bag)
	err = w.env.warnPartial(err)
	switch {
	case err == nil:
		w.info("Data bag " + bag + " already exists")
	case api.NotFound(err):
		if _, err := w.done(nil, w.cl.DataBags().Create(w.env.ctx(), bag, nil)); err != nil {
			return err
		}
		w.info("Created data_bag[" + bag + "]")
	default:
		return httpError(err)
	}
	if c.NArg() < 2 {
		return nil
	}
	id := c.Args().Get(1)
	item, err := w.edit(map[string]any{"id": id})
	if err != nil {
		return err
	}
	if err := w.create(itemRef(bag, ""), item); err != nil {
		return err
	}
	w.out("Created data_bag_item[" + id + "]\n")
	if c.Bool("print-after") {
		return w.display(knife.KindHash, item, knife.ShowOptions{})
	}
	return nil
}

func runDataBagFromFile(c *cli.Context, w *writer) error {
	if err := w.noSecrets(); err != nil {
		return err
	}
	args := c.Args().Slice()
	if c.Bool("all") {
		bags := []string{}
		if len(args) > 0 {
			bags = append(bags, args[0])
		} else {
			dirs, _ := filepath.Glob(filepath.Join("data_bags", "*"))
			for _, d := range dirs {
				if st, err := os.Stat(d); err == nil && st.IsDir() {
					bags = append(bags, filepath.Base(d))
				}
			}
			sort.Strings(bags)
		}
		for _, bag := range bags {
			if err := w.loadItems(bag, objectFiles(filepath.Join("data_bags", bag))); err != nil {
				return err
			}
		}
		return nil
	}
	if len(args) < 2 {
		help, _ := knife.Help(w.cmd)
		return &ExitError{Code: ExitUsage, Stdout: help}
	}
	return w.loadItems(args[0], args[1:])
}

// loadItems saves each item file (a folder stands for its *.json) of a
// bag: PUT, or POST when the item is new.
func (w *writer) loadItems(bag string, items []string) error {
	var paths []string
	for _, p := range items {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			m, _ := filepath.Glob(filepath.Join(p, "*.json"))
			paths = append(paths, m...)
		} else {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		item, err := w.loadFile("data_bags", bag, p)
		if err != nil {
			return err
		}
		id := fmt.Sprint(item["id"])
		if err := w.save(itemRef(bag, id), item); err != nil {
			return err
		}
		w.info("Updated data_bag_item[" + bag + "::" + id + "]")
	}
	return nil
}

func runDataBagDelete(c *cli.Context, w *writer) error {
	var r ref
	var what, name string
	switch c.NArg() {
	case 2:
		name = c.Args().Get(1)
		r, what = itemRef(c.Args().First(), name), "data_bag_item"
	case 1:
		name = c.Args().First()
		r, what = objRef("data", name), "data_bag"
	default:
		return w.usage("You must specify at least a data bag name")
	}
	if err := w.confirm("Do you really want to delete " + name); err != nil {
		return err
	}
	obj, err := w.del(r)
	if err != nil {
		return err
	}
	if c.Bool("print-after") && obj != nil {
		if err := w.display(knife.KindHash, obj, knife.ShowOptions{}); err != nil {
			return err
		}
	}
	w.out("Deleted " + what + "[" + name + "]\n")
	return nil
}
