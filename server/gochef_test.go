package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

func goChefClient(t *testing.T, baseURL, name, keyPEM string) *chef.Client {
	t.Helper()
	c, err := chef.NewClient(&chef.Config{Name: name, Key: keyPEM, BaseURL: baseURL + "/", AuthenticationVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func throwawayKey(t testing.TB) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// go-chef/chef pointed at Shearch gets the same answers as from one
// goiardi holding all the data.
func TestGoChefAgainstShearch(t *testing.T) {
	integration.Needs(t, "goiardi")
	f := startFleet(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	one, err := devfleet.StartCluster(ctx, "single", "prod", 1, fx)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Stop()
	key, err := readFile(one.Shards[0].AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	ref := goChefClient(t, one.Shards[0].URL, "admin", key)
	via := goChefClient(t, f.srv.URL, "admin", throwawayKey(t))

	same := func(what string, a, b any) {
		t.Helper()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s differs:\n shearch: %s\n  goiardi: %s", what, ja, jb)
		}
	}
	for _, q := range []string{"role:web", "*:*", "chef_environment:dev", "tags:foo"} {
		a, err := via.Search.Exec("node", q)
		if err != nil {
			t.Fatalf("go-chef search %s via Shearch: %v", q, err)
		}
		b, err := ref.Search.Exec("node", q)
		if err != nil {
			t.Fatal(err)
		}
		same("search node "+q+" total", a.Total, b.Total)
		same("search node "+q+" rows", byName(a.Rows), byName(b.Rows))
		pa, err := via.Search.PartialExec("node", q, map[string]interface{}{"ip": []string{"ipaddress"}, "name": []string{"name"}})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := ref.Search.PartialExec("node", q, map[string]interface{}{"ip": []string{"ipaddress"}, "name": []string{"name"}})
		if err != nil {
			t.Fatal(err)
		}
		same("partial search "+q, partialData(pa.Rows), partialData(pb.Rows))
	}
	na, err := via.Nodes.List()
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := ref.Nodes.List()
	same("node list", keys(na), keys(nb))
	for _, name := range []string{"web-01.prod.example.com", "monitor01", "new-node-01"} {
		a, err := via.Nodes.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ref.Nodes.Get(name)
		same("node "+name, a, b)
	}
	ra, err := via.Roles.Get("web")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := ref.Roles.Get("web")
	same("role web", ra, rb)
	ea, err := via.Environments.Get("prod")
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := ref.Environments.Get("prod")
	same("environment prod", ea, eb)
	ia, err := via.DataBags.GetItem("users", "carol")
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := ref.DataBags.GetItem("users", "carol")
	same("data bag item users/carol", ia, ib)
	la, err := via.DataBags.ListItems("users")
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := ref.DataBags.ListItems("users")
	same("data bag users items", keys(map[string]string(*la)), keys(map[string]string(*lb)))
	if _, err := via.Nodes.Get("missing-node"); err == nil {
		t.Error("a missing node is not an error through Shearch")
	} else if cerr, _ := chef.ChefError(err); cerr == nil || cerr.StatusCode() != 404 {
		t.Errorf("a missing node: want a 404, got %v", err)
	}
}

func readFile(p string) (string, error) {
	b, err := readAll(p)
	return string(b), err
}

func byName(rows []interface{}) []interface{} {
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].(map[string]interface{})["name"].(string) < rows[j].(map[string]interface{})["name"].(string)
	})
	return rows
}

func partialData(rows []interface{}) []interface{} {
	var out []interface{}
	for _, r := range rows {
		out = append(out, r.(map[string]interface{})["data"])
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].(map[string]interface{})["name"].(string) < out[j].(map[string]interface{})["name"].(string)
	})
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A node loaded on two shards with different ohai_time comes back once,
// the newest copy, and the stale copy is listed in duplicates.
func TestDuplicateNode(t *testing.T) {
	f := startFleet(t)
	ctx := context.Background()
	var holder int
	for i, p := range f.cluster.Parts {
		for _, n := range p.Nodes {
			if n["name"] == "db-02.prod.example.com" {
				holder = i
			}
		}
	}
	other := (holder + 1) % 3
	var node map[string]any
	c0, _ := f.cluster.Shards[holder].Client()
	if err := c0.GetJSON(ctx, pathOf(t, shards.Nodes, "db-02.prod.example.com"), &node); err != nil {
		t.Fatal(err)
	}
	// The copy on the other shard is newer: the node was re-bootstrapped there.
	node["automatic"].(map[string]any)["ohai_time"] = json.Number("1795348799.5")
	node["automatic"].(map[string]any)["ipaddress"] = "127.0.0.99"
	c1, _ := f.cluster.Shards[other].Client()
	if _, err := c1.Do(ctx, "POST", shards.CollectionPath(shards.Nodes), node); err != nil {
		t.Fatal(err)
	}
	defer c1.Do(ctx, "DELETE", pathOf(t, shards.Nodes, "db-02.prod.example.com"), nil)
	if err := devfleet.WaitIndexed(ctx, c1, len(f.cluster.Parts[other].Nodes)+1); err != nil {
		t.Fatal(err)
	}
	for _, partial := range []map[string][]string{nil, {"ip": {"ipaddress"}}} {
		res, err := f.client.Search(ctx, "node", "name:db-02*", &api.SearchOptions{Partial: partial, AllowPartial: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 1 || len(res.Rows) != 1 || res.Rows[0].Shard != f.cluster.Shards[other].Name {
			t.Fatalf("want one row from %s, got %+v", f.cluster.Shards[other].Name, res.Rows)
		}
		ip := res.Rows[0].Object()["ip"]
		if partial == nil {
			ip = res.Rows[0].Object()["automatic"].(map[string]any)["ipaddress"]
		}
		if ip != "127.0.0.99" {
			t.Fatalf("kept the stale copy: ip %v", ip)
		}
		want := []search.Duplicate{{Name: "db-02.prod.example.com", Kept: f.cluster.Shards[other].Name, Stale: []string{f.cluster.Shards[holder].Name}, Differs: true}}
		if !reflect.DeepEqual(res.Duplicates, want) {
			t.Fatalf("duplicates: got %+v, want %+v", res.Duplicates, want)
		}
	}
}

func readAll(p string) ([]byte, error) { return os.ReadFile(p) }

// A query that matches only the stale copy of a duplicated node does not
// return it as the node, and says where the real one is.
func TestStaleCopyOnlyMatch(t *testing.T) {
	f := startFleet(t)
	ctx := context.Background()
	var holder int
	for i, p := range f.cluster.Parts {
		for _, n := range p.Nodes {
			if n["name"] == "web-02.prod.example.com" {
				holder = i
			}
		}
	}
	other := (holder + 1) % 3
	var node map[string]any
	c0, _ := f.cluster.Shards[holder].Client()
	if err := c0.GetJSON(ctx, pathOf(t, shards.Nodes, "web-02.prod.example.com"), &node); err != nil {
		t.Fatal(err)
	}
	node["automatic"].(map[string]any)["ohai_time"] = json.Number("1795348799.9")
	node["automatic"].(map[string]any)["ipaddress"] = "127.0.0.98"
	c1, _ := f.cluster.Shards[other].Client()
	if _, err := c1.Do(ctx, "POST", shards.CollectionPath(shards.Nodes), node); err != nil {
		t.Fatal(err)
	}
	defer c1.Do(ctx, "DELETE", pathOf(t, shards.Nodes, "web-02.prod.example.com"), nil)
	if err := devfleet.WaitIndexed(ctx, c1, len(f.cluster.Parts[other].Nodes)+1); err != nil {
		t.Fatal(err)
	}
	// A fresh engine: the shared one may hold an owners map from before.
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards(f.cluster.ShardList())})
	res, err := e.Search(ctx, search.Request{Index: "node", Query: "ipaddress:127.0.0.12"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 0 || len(res.Duplicates) != 1 || res.Duplicates[0].Kept != f.cluster.Shards[other].Name {
		t.Fatalf("stale-only match: total %d, duplicates %+v", res.Total, res.Duplicates)
	}
	res, err = e.Search(ctx, search.Request{Index: "node", Query: "ipaddress:127.0.0.98"})
	if err != nil || res.Total != 1 || res.Rows[0].Shard != f.cluster.Shards[other].Name {
		t.Fatalf("newest copy: %+v %v", res, err)
	}
}
