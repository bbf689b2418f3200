package api_test

// These examples run against a live Shearch: `make test` runs them from
// the main module (apitest.TestExamples), which serves 3 goiardi shards
// holding testdata/fixture and sets SHEARCH_URL and SHEARCH_TOKEN (a
// token with write scope).

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/api"
)

func TestMain(m *testing.M) {
	if os.Getenv("SHEARCH_URL") == "" {
		fmt.Fprintln(os.Stderr, "the api examples need a live Shearch: run them with `go test ./apitest/` from the main module (make test does), or set SHEARCH_URL and SHEARCH_TOKEN (write scope) to a Shearch over testdata/fixture")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func client() *api.Client {
	c, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func ExampleNewClient() {
	cfg := api.DefaultConfig() // SHEARCH_URL (comma-separated), SHEARCH_TOKEN, SHEARCH_CACERT
	cfg.MaxRetries = 3
	c, err := api.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(c.Addresses()) > 0)
	// Output: true
}

func ExampleClient_Search() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client().Search(ctx, "node", "role:web", &api.SearchOptions{Rows: 50})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Total, res.Shards.OK, "of", res.Shards.Total, "shards")
	for _, r := range res.Rows {
		fmt.Println(r.Name)
	}
	// Output:
	// 3 3 of 3 shards
	// web-01.prod.example.com
	// web-02.prod.example.com
	// web-03.dev.example.com
}

func ExampleClient_Rows() {
	ctx := context.Background()
	opts := &api.SearchOptions{Partial: map[string][]string{"ip": {"ipaddress"}}}
	for row, err := range client().Rows(ctx, "node", "role:db", opts) {
		if err != nil {
			log.Fatal(err)
		}
		var v struct{ IP string }
		if err := row.Decode(&v); err != nil {
			log.Fatal(err)
		}
		fmt.Println(row.Name, v.IP)
	}
	// Output:
	// db-01.prod.example.com 127.0.0.21
	// db-02.prod.example.com 127.0.0.22
	// db-primary.dev.example.com 127.0.0.23
}

func ExampleClient_Pages() {
	n, pages := 0, 0
	for page, err := range client().Pages(context.Background(), "node", "*:*", &api.SearchOptions{Rows: 5}) {
		if err != nil {
			log.Fatal(err)
		}
		pages++
		n += len(page.Rows)
	}
	fmt.Println(n, "nodes in", pages, "pages")
	// Output: 12 nodes in 3 pages
}

func ExampleRow_Node() {
	res, err := client().Search(context.Background(), "node", "name:monitor01", nil)
	if err != nil {
		log.Fatal(err)
	}
	n, err := res.Rows[0].Node()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Name, n.Environment, n.RunList)
	// Output: monitor01 prod [role[monitoring]]
}

func ExampleClient_Facets() {
	f, err := client().Facets(context.Background(), "node", "role:web", []string{"platform"}, &api.FacetOptions{By: "chef_environment"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Total, f.Facets["platform"].Values)
	for _, env := range []string{"dev", "prod"} {
		fmt.Println(env, f.By[env].Total, f.By[env].Facets["platform"].Values)
	}
	// Output:
	// 3 map[ubuntu:3]
	// dev 1 map[ubuntu:1]
	// prod 2 map[ubuntu:2]
}

func ExampleClient_Shards() {
	t, err := client().Shards(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range t.Shards {
		fmt.Println(s.Name, s.Stack, s.Source)
	}
	// Output:
	// chef-1 prod static
	// chef-2 prod static
	// chef-3 prod static
}

func ExampleClient_Locate() {
	loc, err := client().Locate(context.Background(), "web-01.prod.example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(loc.Shards), loc.Kept == loc.Shards[0])
	// Output: 1 true
}

func ExampleClient_Consistency() {
	d, err := client().Consistency(context.Background(), "prod")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Stack, len(d.Drift), "objects differ")
	// Output: prod 0 objects differ
}

func ExampleClient_RepairPlan() {
	ctx := context.Background()
	c := client()
	plan, err := c.RepairPlan(ctx, "prod")
	if err != nil {
		log.Fatal(err)
	}
	out, err := c.Repair(ctx, plan.Actions)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(plan.Actions), "to repair,", len(out.Applied), "applied")
	// Output: 0 to repair, 0 applied
}

func ExampleClient_Nodes() {
	ctx := context.Background()
	nodes := client().Nodes()
	node := chef.Node{Name: "example-01", Environment: "dev", RunList: []string{"role[web]"}}
	if err := nodes.Create(ctx, node); err != nil {
		log.Fatal(err)
	}
	node.RunList = append(node.RunList, "recipe[app::deploy]")
	if err := nodes.Put(ctx, node); err != nil {
		log.Fatal(err)
	}
	got, err := nodes.Get(ctx, "example-01")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name, got.RunList)
	list, err := nodes.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(list), "nodes")
	if _, err := nodes.Delete(ctx, "example-01"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// example-01 [role[web] recipe[app::deploy]]
	// 13 nodes
}

func ExampleClient_Roles() {
	ctx := context.Background()
	roles := client().Roles()
	role := chef.Role{Name: "example", Description: "an example", RunList: chef.RunList{"recipe[app]"}}
	if err := roles.Create(ctx, role); err != nil {
		log.Fatal(err)
	}
	role.Description = "changed"
	if err := roles.Put(ctx, role); err != nil {
		log.Fatal(err)
	}
	got, err := roles.Get(ctx, "example")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name, got.Description)
	if _, err := roles.Delete(ctx, "example"); err != nil {
		log.Fatal(err)
	}
	list, err := roles.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(list), "roles")
	// Output:
	// example changed
	// 4 roles
}

func ExampleClient_Environments() {
	envs, err := client().Environments().List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(envs))
	for n := range envs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println(strings.Join(names, " "))
	prod, err := client().Environments().Get(context.Background(), "prod")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(prod.Name)
	// Output:
	// _default dev prod sandbox
	// prod
}

func ExampleClient_DataBags() {
	ctx := context.Background()
	bags := client().DataBags()
	if err := bags.Create(ctx, "examples", nil); err != nil {
		log.Fatal(err)
	}
	if err := bags.Create(ctx, "examples", map[string]any{"id": "one", "n": 1}); err != nil {
		log.Fatal(err)
	}
	if err := bags.Put(ctx, "examples", map[string]any{"id": "one", "n": 2}); err != nil {
		log.Fatal(err)
	}
	item, err := bags.Get(ctx, "examples", "one")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(item["id"], item["n"])
	items, err := bags.List(ctx, "examples")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(items), "item")
	if _, err := bags.Delete(ctx, "examples", ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// one 2
	// 1 item
}

func ExampleError() {
	_, err := client().Nodes().Get(context.Background(), "no-such-node")
	var ae *api.Error
	if errors.As(err, &ae) {
		fmt.Println(ae.StatusCode, ae.RequestID != "")
	}
	fmt.Println(api.NotFound(err))
	// Output:
	// 404 true
	// true
}

func ExampleClient_Do() {
	// What the typed methods do not cover, as the Chef endpoint listing
	// the indexes.
	data, _, err := client().Do(context.Background(), http.MethodGet, "/search", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(string(data), `"users"`))
	// Output: true
}

func ExampleClient_EnvironmentNodes() {
	nodes, err := client().EnvironmentNodes(context.Background(), "dev")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(nodes), "nodes in dev")
	// Output: 3 nodes in dev
}

func ExampleClient_Clients() {
	clients, err := client().Clients().List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	_, ok := clients["web-01.prod.example.com"]
	fmt.Println(ok)
	// Output: true
}

func ExampleMaps() {
	// A node as a map keeps every key as sent, numbers as json.Number.
	node, err := api.Maps(client().Nodes()).Get(context.Background(), "db-01.prod.example.com")
	if err != nil {
		log.Fatal(err)
	}
	automatic := node["automatic"].(map[string]any)
	fmt.Println(node["chef_environment"], automatic["ipaddress"])
	// Output: prod 127.0.0.21
}

func ExampleRow_Decode() {
	res, err := client().Search(context.Background(), "users", "id:alice", nil)
	if err != nil {
		log.Fatal(err)
	}
	var item struct {
		RawData struct {
			ID    string `json:"id"`
			Shell string `json:"shell"`
		} `json:"raw_data"`
	}
	if err := res.Rows[0].Decode(&item); err != nil {
		log.Fatal(err)
	}
	fmt.Println(item.RawData.ID, item.RawData.Shell)
	// Output: alice /bin/bash
}

func ExamplePartialError() {
	// Shards that fail leave a gap: the page comes with a *PartialError
	// naming them, unless AllowPartial; Deny makes it a 502 instead.
	res, err := client().Search(context.Background(), "node", "role:web", nil)
	var pe *api.PartialError
	if errors.As(err, &pe) {
		fmt.Println("missing the rows of", pe.Failed())
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Total, "rows,", res.Shards.Failed, "shards failed")
	// Output: 3 rows, 0 shards failed
}

func ExampleSplitAddresses() {
	fmt.Println(api.SplitAddresses("https://shearch-a:4000, https://shearch-b:4000,"))
	// Output: [https://shearch-a:4000 https://shearch-b:4000]
}
