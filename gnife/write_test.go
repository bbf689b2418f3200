package gnife

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// stoppable stands in front of a shard; when down it drops every
// connection, as a stopped shard would.
type stoppable struct {
	srv  *httptest.Server
	down atomic.Bool
}

// writeFleet is 3 goiardi shards holding the fixture, each behind a
// stoppable proxy, and a Shearch where token "wtok" may write and "rtok"
// may only read.
type writeFleet struct {
	cluster *devfleet.Cluster
	proxies []*stoppable
	engine  *engine.Engine
	srv     *httptest.Server
}

func startWriteFleet(t *testing.T) *writeFleet {
	t.Helper()
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	c, err := devfleet.StartCluster(ctx, "chef", "prod", 3, fx)
	if err != nil {
		t.Fatalf("starting 3 goiardi shards: %v", err)
	}
	t.Cleanup(c.Stop)
	f := &writeFleet{cluster: c}
	list := c.ShardList()
	for i := range list {
		u, _ := url.Parse(list[i].URL)
		rp := httputil.NewSingleHostReverseProxy(u)
		p := &stoppable{}
		p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.down.Load() {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(p.srv.Close)
		f.proxies = append(f.proxies, p)
		list[i].URL = p.srv.URL
	}
	f.engine = engine.Over(search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second}, search.Deps{Topology: search.StaticShards(list)}))
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte("wtok write\nrtok\n"), 0o600)
	a, err := auth.New(auth.Options{TokensFile: tokens})
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(f.engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Auth = a
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

type run struct {
	out, err string
	code     int
}

func (f *writeFleet) gnife(t *testing.T, token, stdin string, args ...string) run {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.srv.URL}, Token: token}}
	code := Run(args, IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, env)
	return run{out.String(), errOut.String(), code}
}

func (r run) is(out, errOut string, code int) error {
	if r.out != out || r.err != errOut || r.code != code {
		return fmt.Errorf("got stdout %q stderr %q exit %d\nwant stdout %q stderr %q exit %d", r.out, r.err, r.code, out, errOut, code)
	}
	return nil
}

// onShard reads an object straight from shard i; nil when it has none.
func (f *writeFleet) onShard(t *testing.T, i int, kind shards.Kind, names ...string) map[string]any {
	t.Helper()
	c, err := f.cluster.Shards[i].Client()
	if err != nil {
		t.Fatal(err)
	}
	p, err := shards.ObjectPath(kind, names...)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	err = c.GetJSON(context.Background(), p, &obj)
	var se *shards.StatusError
	if errors.As(err, &se) && se.Status == 404 {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func (f *writeFleet) holders(t *testing.T, kind shards.Kind, names ...string) []int {
	var out []int
	for i := range f.cluster.Shards {
		if f.onShard(t, i, kind, names...) != nil {
			out = append(out, i)
		}
	}
	return out
}

func writeFile(t *testing.T, dir, name, text string) string {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// Acceptance 1 for node commands: each prints and exits as knife, and
// exactly the shard holding the node changes.
func TestNodeWriteCommands(t *testing.T) {
	f := startWriteFleet(t)
	const web = "web-01.prod.example.com"
	owner := f.holders(t, shards.Nodes, web)
	if len(owner) != 1 {
		t.Fatalf("fixture: %s on %v", web, owner)
	}
	o := owner[0]
	onlyOwner := func(what string, ok func(map[string]any) bool) {
		t.Helper()
		for i := range f.cluster.Shards {
			n := f.onShard(t, i, shards.Nodes, web)
			if i == o && !ok(n) {
				t.Errorf("%s: owner shard %d not changed: %v %v", what, i, n["run_list"], n["chef_environment"])
			}
			if i != o && n != nil {
				t.Errorf("%s: shard %d has a copy", what, i)
			}
		}
	}
	rl := func(n map[string]any) string { return fmt.Sprint(n["run_list"]) }

	r := f.gnife(t, "wtok", "", "node", "run_list", "add", web, "role[db],nginx")
	check(t, "run_list add", r.is(web+":\n  run_list:\n    role[web]\n    recipe[app::deploy]\n    role[db]\n    recipe[nginx]\n", "", 0))
	onlyOwner("run_list add", func(n map[string]any) bool { return rl(n) == "[role[web] recipe[app::deploy] role[db] recipe[nginx]]" })

	r = f.gnife(t, "wtok", "", "node", "run_list", "add", web, "recipe[x]", "-b", "role[db]")
	check(t, "run_list add -b", r.is(web+":\n  run_list:\n    role[web]\n    recipe[app::deploy]\n    recipe[x]\n    role[db]\n    recipe[nginx]\n", "", 0))

	r = f.gnife(t, "wtok", "", "node", "run_list", "remove", web, "recipe[x],nope")
	check(t, "run_list remove", r.is(web+":\n  run_list:\n    role[web]\n    recipe[app::deploy]\n    role[db]\n    recipe[nginx]\n",
		"WARNING: nope is not in the run list\nWARNING: (did you forget recipe[] or role[] around it?)\n", 0))

	r = f.gnife(t, "wtok", "", "node", "run_list", "set", web, "role[web]")
	check(t, "run_list set", r.is(web+":\n  run_list: role[web]\n", "", 0))
	onlyOwner("run_list set", func(n map[string]any) bool { return rl(n) == "[role[web]]" })

	r = f.gnife(t, "wtok", "", "node", "environment", "set", web, "dev")
	check(t, "environment set", r.is("chef_environment: dev\n", "", 0))
	onlyOwner("environment set", func(n map[string]any) bool { return n["chef_environment"] == "dev" })

	r = f.gnife(t, "wtok", "", "tag", "create", web, "blue", "green")
	check(t, "tag create", r.is("", "Created tags blue, green for node "+web+".\n", 0))
	r = f.gnife(t, "wtok", "", "tag", "delete", web, "green", "nosuch")
	check(t, "tag delete", r.is("", "Deleted tags green for node "+web+".\n", 0))
	r = f.gnife(t, "wtok", "", "tag", "delete", web, "nosuch")
	check(t, "tag delete nothing", r.is("", "Nothing has changed. The tags requested to be deleted do not exist.\n", 0))
	onlyOwner("tags", func(n map[string]any) bool {
		return fmt.Sprint(n["normal"].(map[string]any)["tags"]) == "[foo frontend blue]"
	})

	dir := t.TempDir()
	editor := writeFile(t, dir, "editor.sh", "#!/bin/sh\nsed -i 's/\"chef_environment\": \"[^\"]*\"/\"chef_environment\": \"prod\"/' \"$1\"\n")
	t.Setenv("EDITOR", editor)
	r = f.gnife(t, "wtok", "", "node", "edit", web)
	check(t, "node edit", r.is("", "Saving updated chef_environment on node "+web+"\n", 0))
	onlyOwner("node edit", func(n map[string]any) bool { return n["chef_environment"] == "prod" })
	r = f.gnife(t, "wtok", "", "node", "edit", web)
	check(t, "node edit unchanged", r.is("", "Node not updated, skipping node save\n", 0))

	// A new node from a file lands on exactly one shard.
	file := writeFile(t, dir, "fresh.json", `{"name": "fresh-01", "chef_environment": "dev", "run_list": ["role[base]"], "normal": {"tags": []}}`)
	r = f.gnife(t, "wtok", "", "node", "from", "file", file)
	check(t, "node from file", r.is("", "Updated Node fresh-01\n", 0))
	if h := f.holders(t, shards.Nodes, "fresh-01"); len(h) != 1 {
		t.Errorf("fresh-01 on shards %v, want exactly one", h)
	}
	r = f.gnife(t, "wtok", "", "node", "from", "file", file)
	check(t, "node from file again", r.is("", "Updated Node fresh-01\n", 0))
	if h := f.holders(t, shards.Nodes, "fresh-01"); len(h) != 1 {
		t.Errorf("fresh-01 on shards %v after a second upload, want exactly one", h)
	}

	r = f.gnife(t, "wtok", "n\n", "node", "delete", "fresh-01")
	check(t, "node delete declined", r.is("Do you really want to delete fresh-01? (Y/N) You said no, so I'm done here.\n", "", 3))
	r = f.gnife(t, "wtok", "maybe\nY\n", "node", "delete", "fresh-01")
	check(t, "node delete", r.is("Do you really want to delete fresh-01? (Y/N) I have no idea what to do with 'maybe'\nJust say Y or N, please.\n"+
		"Do you really want to delete fresh-01? (Y/N) Deleted node[fresh-01]\n", "", 0))
	if h := f.holders(t, shards.Nodes, "fresh-01"); len(h) != 0 {
		t.Errorf("fresh-01 still on shards %v", h)
	}

	// knife's usage errors and HTTP errors.
	r = f.gnife(t, "wtok", "", "node", "delete")
	if r.code != 1 || !strings.HasPrefix(r.out, "USAGE: knife node delete [NODE [NODE]] (options)\n") || r.err != "FATAL: You must specify at least one node name\n" {
		t.Errorf("node delete without a name: %+v", r)
	}
	r = f.gnife(t, "wtok", "", "node", "run_list", "add", "nosuch", "role[web]")
	if r.code != 100 || !strings.HasPrefix(r.err, "ERROR: The object you are looking for could not be found\nResponse: ") {
		t.Errorf("run_list add on a missing node: %+v", r)
	}
	r = f.gnife(t, "rtok", "", "node", "delete", web, "-y")
	if r.code != 100 || !strings.HasPrefix(r.err, "ERROR: You authenticated successfully to ") || !strings.Contains(r.err, "may only read") {
		t.Errorf("node delete with a read-only token: %+v", r)
	}
	if len(f.holders(t, shards.Nodes, web)) != 1 {
		t.Error("a refused delete removed the node")
	}

	// Acceptance 4: a node on two shards is refused, naming both.
	other := (o + 1) % 3
	c, _ := f.cluster.Shards[other].Client()
	post, _ := shards.WritePath("POST", shards.Nodes)
	if _, err := c.Do(context.Background(), "POST", post, f.onShard(t, o, shards.Nodes, web)); err != nil {
		t.Fatal(err)
	}
	f.engine.Writer.OwnerTTL = time.Nanosecond // as if the 30 s had passed
	for _, args := range [][]string{{"tag", "create", web, "x"}, {"node", "delete", web, "-y"}, {"node", "run_list", "add", web, "role[db]"}} {
		r = f.gnife(t, "wtok", "", args...)
		a, b := f.cluster.Shards[o].Name, f.cluster.Shards[other].Name
		if a > b {
			a, b = b, a
		}
		if r.code != 100 || !strings.HasPrefix(r.err, "ERROR: Conflict\nResponse: node "+web+" is on 2 shards: "+a+" and "+b) {
			t.Errorf("%v on a node held by two shards: %+v", args, r)
		}
	}
	if len(f.holders(t, shards.Nodes, web)) != 2 {
		t.Error("a refused write changed a copy")
	}
}

// The less common knife forms: --after, -a for every environment file,
// a bad data bag name, several nodes deleted at once.
func TestWriteCommandVariants(t *testing.T) {
	f := startWriteFleet(t)
	const db = "db-01.prod.example.com"
	r := f.gnife(t, "wtok", "", "node", "run_list", "add", db, "recipe[a],recipe[b]", "-a", "role[db]", "-F", "json")
	check(t, "run_list add -a -F json", r.is("{\n  \""+db+"\": {\n    \"run_list\": [\n      \"role[db]\",\n      \"recipe[a]\",\n      \"recipe[b]\"\n    ]\n  }\n}\n", "", 0))
	r = f.gnife(t, "wtok", "", "node", "run_list", "add", db, "x", "-a", "role[db]", "-b", "role[db]")
	check(t, "run_list add -a -b", r.is("", "FATAL: You cannot specify both --before and --after!\n", 1))
	r = f.gnife(t, "wtok", "", "node", "run_list", "add", db, "Recipe[x]")
	check(t, "run_list add of a false friend", r.is("", "ERROR: ArgumentError: Unable to create Chef::RunList::RunListItem from String:\"Recipe[x]\": must be recipe[] or role[]\n", 100))

	dir := t.TempDir()
	writeFile(t, dir, "environments/qa.json", `{"name": "qa"}`)
	writeFile(t, dir, "environments/stage.json", `{"name": "stage"}`)
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	r = f.gnife(t, "wtok", "", "environment", "from", "file", "-a")
	os.Chdir(wd)
	check(t, "environment from file -a", r.is("", "Updated Environment qa\nUpdated Environment stage\n", 0))
	for _, e := range []string{"qa", "stage"} {
		if h := f.holders(t, shards.Environments, e); len(h) != 3 {
			t.Errorf("environment %s on shards %v", e, h)
		}
	}
	r = f.gnife(t, "wtok", "", "data", "bag", "create", "bad/name")
	check(t, "data bag create with a bad name", r.is("", "FATAL: DataBags must have a name matching /^[\\.\\-[:alnum:]_]+$/, you gave \"bad/name\"\n", 1))

	r = f.gnife(t, "wtok", "Y\nY\n", "node", "delete", "cache-01", "monitor01")
	check(t, "node delete of two nodes", r.is("Do you really want to delete cache-01? (Y/N) Deleted node[cache-01]\nDo you really want to delete monitor01? (Y/N) Deleted node[monitor01]\n", "", 0))
	for _, n := range []string{"cache-01", "monitor01"} {
		if h := f.holders(t, shards.Nodes, n); len(h) != 0 {
			t.Errorf("%s still on %v", n, h)
		}
	}
}

// Acceptance 1 for roles, environments and data bags: every shard changes.
func TestStackWriteCommands(t *testing.T) {
	f := startWriteFleet(t)
	dir := t.TempDir()
	all := func(what string, kind shards.Kind, want bool, names ...string) {
		t.Helper()
		h := f.holders(t, kind, names...)
		if want && len(h) != 3 || !want && len(h) != 0 {
			t.Errorf("%s: on shards %v", what, h)
		}
	}
	role := writeFile(t, dir, "roles/cache.json", `{"name": "cache", "description": "redis", "run_list": ["recipe[redis]"]}`)
	r := f.gnife(t, "wtok", "", "role", "from", "file", role)
	check(t, "role from file", r.is("", "Updated Role cache\n", 0))
	all("role from file", shards.Roles, true, "cache")

	editor := writeFile(t, dir, "editor.sh", "#!/bin/sh\nsed -i 's/\"redis\"/\"redis 7\"/' \"$1\"\n")
	r = f.gnife(t, "wtok", "", "role", "edit", "cache", "-e", editor)
	check(t, "role edit", r.is("Saved role[cache]\n", "", 0))
	for i := 0; i < 3; i++ {
		if d := f.onShard(t, i, shards.Roles, "cache")["description"]; d != "redis 7" {
			t.Errorf("role edit: shard %d description %v", i, d)
		}
	}
	r = f.gnife(t, "wtok", "", "role", "edit", "cache", "-e", "true")
	check(t, "role edit unchanged", r.is("Object unchanged, not saving\n", "", 0))
	r = f.gnife(t, "wtok", "", "role", "delete", "cache", "-y")
	check(t, "role delete", r.is("Deleted role[cache]\n", "", 0))
	all("role delete", shards.Roles, false, "cache")
	r = f.gnife(t, "wtok", "", "role", "delete", "cache", "-y")
	if r.code != 100 || !strings.HasPrefix(r.err, "ERROR: The object you are looking for could not be found") {
		t.Errorf("role delete of a missing role: %+v", r)
	}

	envFile := writeFile(t, dir, "environments/qa.json", `{"name": "qa", "description": "QA"}`)
	r = f.gnife(t, "wtok", "", "environment", "from", "file", envFile)
	check(t, "environment from file", r.is("", "Updated Environment qa\n", 0))
	all("environment from file", shards.Environments, true, "qa")
	r = f.gnife(t, "wtok", "Y\n", "environment", "delete", "qa")
	check(t, "environment delete", r.is("Do you really want to delete qa? (Y/N) Deleted environment[qa]\n", "", 0))
	all("environment delete", shards.Environments, false, "qa")

	r = f.gnife(t, "wtok", "", "data", "bag", "create", "apps")
	check(t, "data bag create", r.is("", "Created data_bag[apps]\n", 0))
	all("data bag create", shards.DataBags, true, "apps")
	r = f.gnife(t, "wtok", "", "data", "bag", "create", "apps", "blog", "-d")
	check(t, "data bag create item", r.is("Created data_bag_item[blog]\n", "Data bag apps already exists\n", 0))
	all("data bag create item", shards.DataBags, true, "apps", "blog")
	item := writeFile(t, dir, "shop.json", `{"id": "shop", "port": 8080}`)
	r = f.gnife(t, "wtok", "", "data", "bag", "from", "file", "apps", item)
	check(t, "data bag from file", r.is("", "Updated data_bag_item[apps::shop]\n", 0))
	all("data bag from file", shards.DataBags, true, "apps", "shop")
	r = f.gnife(t, "wtok", "", "data", "bag", "delete", "apps", "shop", "-y")
	check(t, "data bag delete item", r.is("Deleted data_bag_item[shop]\n", "", 0))
	all("data bag delete item", shards.DataBags, false, "apps", "shop")
	r = f.gnife(t, "wtok", "", "data", "bag", "delete", "apps", "-y")
	check(t, "data bag delete", r.is("Deleted data_bag[apps]\n", "", 0))
	all("data bag delete", shards.DataBags, false, "apps")
	r = f.gnife(t, "wtok", "", "data", "bag", "from", "file", "apps")
	if r.code != 1 || !strings.HasPrefix(r.out, "knife data bag from file BAG FILE|FOLDER [FILE|FOLDER..] (options)\n") {
		t.Errorf("data bag from file without a file: %+v", r)
	}
}

// Acceptance 2: with a shard stopped, role from file names it as failed;
// once it is back /v1/consistency shows the difference, and
// `gnife consistency --repair -y` makes every shard equal again.
func TestRoleFromFileWithAShardStoppedThenRepair(t *testing.T) {
	f := startWriteFleet(t)
	dir := t.TempDir()
	role := writeFile(t, dir, "web.json", `{"name": "web", "description": "v2", "run_list": ["role[base]", "recipe[nginx]"]}`)
	f.proxies[1].down.Store(true)
	r := f.gnife(t, "wtok", "", "role", "from", "file", role)
	if r.code != 100 || !strings.Contains(r.err, "WARNING: shard chef-2 failed: ") || !strings.Contains(r.err, "gnife consistency --repair") || strings.Contains(r.err, "Updated Role") {
		t.Errorf("role from file with chef-2 stopped: %+v", r)
	}
	// A new role: the PUT finds it nowhere that answers, so the POST
	// creates it where it can and names the stopped shard.
	cache := writeFile(t, dir, "cache.json", `{"name": "cache", "run_list": ["recipe[redis]"]}`)
	r = f.gnife(t, "wtok", "", "role", "from", "file", cache)
	if r.code != 100 || !strings.Contains(r.err, "WARNING: shard chef-2 failed: ") || strings.Contains(r.err, "Updated Role") {
		t.Errorf("new role from file with chef-2 stopped: %+v", r)
	}
	f.proxies[1].down.Store(false)
	if d := f.onShard(t, 1, shards.Roles, "web")["description"]; d == "v2" {
		t.Fatal("the stopped shard got the role")
	}
	if h := f.holders(t, shards.Roles, "cache"); len(h) != 2 || h[0] != 0 || h[1] != 2 {
		t.Fatalf("new role on shards %v, want chef-1 and chef-3", h)
	}

	r = f.gnife(t, "wtok", "", "consistency")
	if r.code != 1 || !strings.Contains(r.out, "role web\n") || !strings.Contains(r.out, "on chef-2") || !strings.Contains(r.out, "role cache\n") || !strings.Contains(r.out, "missing on chef-2") {
		t.Errorf("consistency once chef-2 is back: %+v", r)
	}
	r = f.gnife(t, "wtok", "n\n", "consistency", "--repair")
	want := "stack prod: 2 objects to repair\n  role cache: create on chef-2 with chef-1's copy ("
	if r.code != 3 || !strings.HasPrefix(r.out, want) || !strings.HasSuffix(r.out, "Do you really want to repair 2 objects? (Y/N) You said no, so I'm done here.\n") {
		t.Errorf("repair declined: %+v", r)
	}
	r = f.gnife(t, "wtok", "", "consistency", "--repair", "-y")
	if r.code != 0 || !strings.HasPrefix(r.out, want) || !strings.HasSuffix(r.out, "Repaired role cache\nRepaired role web\n") {
		t.Errorf("repair -y: %+v", r)
	}
	for i := 0; i < 3; i++ {
		if d := f.onShard(t, i, shards.Roles, "web")["description"]; d != "v2" {
			t.Errorf("after repair, shard %d has description %v", i, d)
		}
	}
	if h := f.holders(t, shards.Roles, "cache"); len(h) != 3 {
		t.Errorf("after repair, role cache on shards %v", h)
	}
	r = f.gnife(t, "wtok", "", "consistency")
	check(t, "consistency after repair", r.is("stack prod: 12 objects checked, 0 differ\n", "", 0))
}
