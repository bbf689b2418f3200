package devfleet

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/shards"
)

// Object is one Chef object as JSON, numbers kept as json.Number.
type Object = map[string]any

// Fixture is Chef data laid out like a chef-repo: one object a file.
type Fixture struct {
	Environments []Object
	Roles        []Object
	DataBags     map[string][]Object // bag name -> items
	Nodes        []Object
	Clients      []Object
}

// ReadFixture reads DIR/{environments,roles,nodes,clients}/*.json and
// DIR/data_bags/BAG/*.json. Missing folders are simply empty.
func ReadFixture(dir string) (*Fixture, error) {
	// The folder itself must be there: a wrong relative path in a test
	// would otherwise load an empty fleet and pass for the wrong reason.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("fixture folder %s: not found: give the path of a folder holding nodes/, roles/, ...", dir)
	}
	fx := &Fixture{DataBags: map[string][]Object{}}
	var err error
	for _, part := range []struct {
		sub string
		dst *[]Object
	}{{"environments", &fx.Environments}, {"roles", &fx.Roles}, {"nodes", &fx.Nodes}, {"clients", &fx.Clients}} {
		if *part.dst, err = readObjects(filepath.Join(dir, part.sub)); err != nil {
			return nil, err
		}
	}
	bags, err := os.ReadDir(filepath.Join(dir, "data_bags"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, b := range bags {
		if !b.IsDir() {
			continue
		}
		items, err := readObjects(filepath.Join(dir, "data_bags", b.Name()))
		if err != nil {
			return nil, err
		}
		fx.DataBags[b.Name()] = items
	}
	return fx, nil
}

func readObjects(dir string) ([]Object, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var o Object
		if err := shards.DecodeJSON(data, &o); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// ShardOf says which of n shards holds a node or client: a hash of the
// name, so a fixture always spreads the same way.
func ShardOf(name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// Spread splits a fixture over n shards: every shard gets the roles,
// environments and data bags (they are uploaded everywhere in a sharded
// fleet); each node and client lands on one shard.
func (fx *Fixture) Spread(n int) []*Fixture {
	out := make([]*Fixture, n)
	for i := range out {
		out[i] = &Fixture{Environments: fx.Environments, Roles: fx.Roles, DataBags: fx.DataBags}
	}
	for _, nd := range fx.Nodes {
		i := ShardOf(str(nd["name"]), n)
		out[i].Nodes = append(out[i].Nodes, nd)
	}
	for _, c := range fx.Clients {
		i := ShardOf(str(c["name"]), n)
		out[i].Clients = append(out[i].Clients, c)
	}
	return out
}

// Load uploads a fixture through signed API calls, in the order knife
// would: environments, roles, data bags, nodes, clients.
func Load(ctx context.Context, c *shards.Client, fx *Fixture) error {
	for _, e := range fx.Environments {
		if str(e["name"]) == "_default" {
			continue // goiardi has its own, and it cannot be changed
		}
		if err := put(ctx, c, shards.Environments, "", e); err != nil {
			return err
		}
	}
	for _, r := range fx.Roles {
		if err := put(ctx, c, shards.Roles, "", r); err != nil {
			return err
		}
	}
	bags := make([]string, 0, len(fx.DataBags))
	for b := range fx.DataBags {
		bags = append(bags, b)
	}
	sort.Strings(bags)
	for _, b := range bags {
		if _, err := c.Do(ctx, "POST", shards.CollectionPath(shards.DataBags), Object{"name": b}); err != nil && !isConflict(err) {
			return fmt.Errorf("creating data bag %s: %v", b, err)
		}
		for _, it := range fx.DataBags[b] {
			if err := put(ctx, c, shards.DataBags, b, it); err != nil {
				return err
			}
		}
	}
	// Nodes are most of a fleet; a few uploads at once make a 5,000-node
	// shard load in seconds.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, nd := range fx.Nodes {
		g.Go(func() error { return put(gctx, c, shards.Nodes, "", nd) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, cl := range fx.Clients {
		body := Object{"name": cl["name"], "admin": cl["admin"], "validator": cl["validator"]}
		if pk, ok := cl["public_key"].(string); ok {
			body["public_key"] = pk
		}
		if _, err := c.Do(ctx, "POST", shards.CollectionPath(shards.Clients), body); err != nil && !isConflict(err) {
			return fmt.Errorf("creating client %s: %v", str(cl["name"]), err)
		}
	}
	return WaitIndexed(ctx, c, len(fx.Nodes))
}

// WaitIndexed waits until the shard's search index holds at least n
// nodes: goiardi indexes in the background, so a search right after an
// upload can miss the newest nodes.
func WaitIndexed(ctx context.Context, c *shards.Client, n int) error {
	// goiardi indexes a few hundred nodes a second on a small machine.
	wait := 30*time.Second + time.Duration(n)*50*time.Millisecond
	deadline := time.Now().Add(wait)
	for {
		rows, err := c.Search(ctx, "node", "*:*", map[string][]string{"n": {"name"}})
		if err == nil && len(rows) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("shard %s indexed %d of %d nodes after %s (%v)", c.Shard.Name, len(rows), n, wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// put creates an object, or replaces it when it exists already. bag is
// the data bag of an item, "" for other kinds.
func put(ctx context.Context, c *shards.Client, kind shards.Kind, bag string, o Object) error {
	name := str(o["name"])
	var parent []string
	if kind == shards.DataBags {
		name, parent = str(o["id"]), []string{bag}
	}
	coll, err := shards.ObjectPath(kind, parent...)
	if err != nil {
		return err
	}
	obj, err := shards.ObjectPath(kind, append(parent, name)...)
	if err != nil {
		return fmt.Errorf("loading %s: %v", coll, err)
	}
	_, err = c.Do(ctx, "POST", coll, o)
	if isConflict(err) {
		_, err = c.Do(ctx, "PUT", obj, o)
	}
	if err != nil {
		return fmt.Errorf("loading %s: %v", obj, err)
	}
	return nil
}

func isConflict(err error) bool {
	se, ok := err.(*shards.StatusError)
	return ok && se.Status == 409
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// ShiftOhaiTime moves every node's automatic.ohai_time by delta seconds,
// keeping the number's text form ("1794484758.0" stays a float).
func (fx *Fixture) ShiftOhaiTime(delta int64) {
	for _, n := range fx.Nodes {
		auto, _ := n["automatic"].(map[string]any)
		t, ok := auto["ohai_time"].(json.Number)
		if !ok {
			continue
		}
		whole, frac, _ := strings.Cut(string(t), ".")
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			continue
		}
		s := strconv.FormatInt(w+delta, 10)
		if frac != "" {
			s += "." + frac
		}
		auto["ohai_time"] = json.Number(s)
	}
}
