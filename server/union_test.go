package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// shared is three goiardi shards holding the fixture behind a Shearch,
// shared by the tests of this package: starting them is the slow part.
var shared = &fleettest.Shared{FixtureDir: "../testdata/fixture", Shards: 3}

type fleet struct {
	cluster *devfleet.Cluster
	engine  *engine.Engine
	srv     *httptest.Server
	client  *api.Client
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	if burstFleet.cluster != nil {
		burstFleet.cluster.Stop()
	}
	closeBig()
	os.Exit(code)
}

func startFleet(t *testing.T) *fleet {
	t.Helper()
	integration.Needs(t, "goiardi")
	f, err := shared.Get()
	if err != nil {
		t.Fatalf("starting the fleet: %v", err)
	}
	return &fleet{cluster: f.Cluster, engine: f.Engine, srv: f.HTTP, client: f.Client}
}

// direct asks every shard itself and returns the union in name order.
func (f *fleet) direct(t *testing.T, index, q string, partial map[string][]string) []string {
	t.Helper()
	var names []string
	for _, g := range f.cluster.Shards {
		c, err := g.Client()
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.Search(context.Background(), index, q, partial)
		if err != nil {
			t.Fatalf("direct %s on %s: %v", q, g.Name, err)
		}
		for _, r := range rows {
			names = append(names, r.Name+" "+canon(t, search.Row{Data: r.Data}.Object()))
		}
	}
	if index == "client" {
		names = oneBuiltin(names) // still in shard order here
	}
	sort.Strings(names)
	return names
}

func canon(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rowsOf(t *testing.T, rows []search.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Name + " " + canon(t, r.Object())
	}
	return out
}

// The fixture's nodes spread over three shards must come back from
// Shearch exactly as the union of the shards' own answers, in name order,
// and pages must add up to the whole.
func TestUnionOfShards(t *testing.T) {
	f := startFleet(t)
	cases := []struct {
		index, q string
		partial  map[string][]string
		min      int
	}{
		{"node", "role:web", nil, 3},
		{"node", "chef_environment:prod", nil, 7},
		{"node", "tags:foo", nil, 3},
		{"node", "name:web*", nil, 3},
		{"node", "*:*", nil, 12},
		{"node", "platform_version:[20 TO 22.04]", nil, 1},
		{"node", "role:web AND chef_environment:prod", nil, 2},
		{"node", "role:web OR role:db", nil, 6},
		{"node", "platform:ubuntu AND NOT chef_environment:dev", nil, 1},
		{"node", "NOT chef_environment:prod", nil, 1},
		{"node", "role:nonexistent", nil, 0},
		{"node", "recipes:nginx", nil, 3},
		{"node", "chef_environment:prod", map[string][]string{"ip": {"ipaddress"}, "az": {"ec2", "placement_availability_zone"}, "name": {"name"}}, 7},
		{"node", "*:*", map[string][]string{"kernel": {"kernel", "release"}}, 12},
		{"node", `recipes:users\:\:sysadmins`, nil, 6},
		{"node", "ohai_time:[1795340000 TO *]", nil, 1},
		{"node", `name:"web-01.prod.example.com"`, nil, 1},
		{"node", "fqdn:web-0?.prod.example.com", nil, 2},
		{"node", "platform:ubuntu AND (role:web OR role:db)", nil, 2},
		{"node", "ec2_region:us-east-1", map[string][]string{"az": {"ec2", "placement_availability_zone"}}, 1},
		{"node", "tags:foo OR tags:ops", map[string][]string{"tags": {"tags"}, "env": {"chef_environment"}}, 4},
		{"role", "*:*", nil, 4},
		{"role", "name:web", nil, 1},
		{"role", `run_list:role\[base\]`, nil, 2},
		{"role", "*:*", map[string][]string{"rl": {"run_list"}, "desc": {"description"}}, 4},
		{"environment", "*:*", nil, 4},
		{"environment", "name:prod OR name:dev", nil, 2},
		{"client", "*:*", nil, 4},
		{"client", "name:web*", nil, 1},
		{"client", "*:*", map[string][]string{"name": {"name"}, "admin": {"admin"}}, 4},
		{"users", "id:*", nil, 3},
		{"users", "uid:[2001 TO 2002]", nil, 2},
		{"users", `comment:"Alice Liddell"`, nil, 1},
		{"users", "groups:sysadmin AND NOT id:carol", nil, 1},
		{"users", "*:*", map[string][]string{"shell": {"shell"}, "uid": {"uid"}}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.index+" "+tc.q, func(t *testing.T) {
			want := f.direct(t, tc.index, tc.q, tc.partial)
			if tc.index != "node" {
				want = dedupe(want)
			}
			res, err := f.client.Search(context.Background(), tc.index, tc.q, &api.SearchOptions{Partial: tc.partial, AllowPartial: true})
			if err != nil {
				t.Fatal(err)
			}
			got := rowsOf(t, res.Rows)
			if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Fatalf("Shearch rows differ from the union of the shards\n got %d: %q\nwant %d: %q", len(got), got, len(want), want)
			}
			if len(got) < tc.min || res.Total != len(got) {
				t.Fatalf("got %d rows, total %d; want at least %d", len(got), res.Total, tc.min)
			}
			if res.Shards.OK != 3 || res.Shards.Failed != 0 {
				t.Fatalf("shards: %+v", res.Shards)
			}
			for _, size := range []int{1, 2, 5} {
				var paged []string
				for start := 0; start < res.Total; start += size {
					p, err := f.client.Search(context.Background(), tc.index, tc.q, &api.SearchOptions{Partial: tc.partial, Start: start, Rows: size, AllowPartial: true})
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, rowsOf(t, p.Rows)...)
				}
				if !reflect.DeepEqual(paged, got) && len(got) > 0 {
					t.Fatalf("pages of %d do not add up to the whole:\n%q\n%q", size, paged, got)
				}
			}
		})
	}
}

// oneBuiltin keeps the first copy of goiardi's built-in clients, which
// every shard has with its own key: Shearch lists them once, from the
// first shard by name.
func oneBuiltin(rows []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		name, _, _ := strings.Cut(r, " ")
		if (name == "chef-validator" || name == "chef-webui") && seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, r)
	}
	return out
}

// dedupe keeps one of each identical row: roles, environments and data
// bags are on every shard.
func dedupe(rows []string) []string {
	var out []string
	for i, r := range rows {
		if i == 0 || r != rows[i-1] {
			out = append(out, r)
		}
	}
	return out
}

// With a shard down, the others still answer and the answer names it;
// with partial=deny it is a 502 naming the shard.
func TestFailedShard(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleettest.Start(ctx, 3, fx, func(f *fleettest.Fleet) { f.Engine.Timeout = 3 * time.Second })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, cl := f.Cluster, f.Client

	all, err := cl.Search(ctx, "node", "*:*", &api.SearchOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Shards[1].Stop()
	lost := len(c.Parts[1].Nodes)
	res, err := cl.Search(ctx, "node", "*:*", &api.SearchOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != all.Total-lost || res.Shards.Failed != 1 || res.Shards.OK != 2 {
		t.Fatalf("with chef-2 down: total %d (all %d, lost %d), shards %+v", res.Total, all.Total, lost, res.Shards)
	}
	var failed shards.Shard
	for _, d := range res.Shards.Details {
		if d.Status == search.StatusFailed {
			failed.Name = d.Name
			if !strings.Contains(d.Error, "connection refused") {
				t.Fatalf("failed shard's error does not say why: %q", d.Error)
			}
		}
	}
	if failed.Name != "chef-2" {
		t.Fatalf("failed shard is %q, want chef-2", failed.Name)
	}
	_, err = cl.Search(ctx, "node", "*:*", &api.SearchOptions{Deny: true, AllowPartial: true})
	var se *api.Error
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway || !strings.Contains(se.Error(), "chef-2") {
		t.Fatalf("partial=deny: want a 502 naming chef-2, got %v", err)
	}
}

// Reads merged over shards answer as one Chef server holding everything.
func TestReads(t *testing.T) {
	f := startFleet(t)
	ctx := context.Background()
	var nodes map[string]string
	if err := getJSON(ctx, f.client, "/nodes", &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 12 || !strings.HasPrefix(nodes["web-01.prod.example.com"], f.srv.URL+"/nodes/") {
		t.Fatalf("/nodes: %d names, web-01 at %q", len(nodes), nodes["web-01.prod.example.com"])
	}
	var roles map[string]string
	if err := getJSON(ctx, f.client, "/organizations/acme/roles", &roles); err != nil || len(roles) != 4 {
		t.Fatalf("/roles: %v %v", roles, err)
	}
	var indexes map[string]string
	if err := getJSON(ctx, f.client, "/search", &indexes); err != nil || len(indexes) != 5 || indexes["users"] != f.srv.URL+"/search/users" {
		t.Fatalf("/search: %v %v", indexes, err)
	}
	var node map[string]any
	if err := getJSON(ctx, f.client, "/nodes/monitor01", &node); err != nil || node["chef_environment"] != "prod" {
		t.Fatalf("/nodes/monitor01: %v %v", node, err)
	}
	var item map[string]any
	if err := getJSON(ctx, f.client, "/data/users/carol", &item); err != nil || item["comment"] != "Carol Núñez-Østergård" {
		t.Fatalf("/data/users/carol: %v %v", item, err)
	}
	var devNodes map[string]string
	if err := getJSON(ctx, f.client, "/environments/dev/nodes", &devNodes); err != nil || len(devNodes) != 3 {
		t.Fatalf("/environments/dev/nodes: %v %v", devNodes, err)
	}
	for _, p := range []string{"/nodes/missing-node", "/roles/missing-role", "/data/nosuchbag", "/data/users/nobody", "/environments/missing-env", "/clients/nobody"} {
		err := getJSON(ctx, f.client, p, &item)
		if !api.NotFound(err) {
			t.Errorf("%s: want 404, got %v", p, err)
		}
	}
	var loc struct {
		Shards []string `json:"shards"`
		Kept   string   `json:"kept"`
	}
	if err := getJSON(ctx, f.client, "/v1/nodes/web-01.prod.example.com", &loc); err != nil || len(loc.Shards) != 1 || loc.Kept != loc.Shards[0] {
		t.Fatalf("/v1/nodes: %+v %v", loc, err)
	}
}

// getJSON reads a path through the client's raw Do, as a backend reads
// what the typed methods do not cover.
func getJSON(ctx context.Context, cl *api.Client, path string, v any) error {
	data, _, err := cl.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
