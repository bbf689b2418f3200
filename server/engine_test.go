package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// A role changed on one shard and a cookbook version uploaded to two of
// three shards both show in the drift report, naming the odd shard.
func TestConsistency(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	c, err := devfleet.StartCluster(ctx, "chef", "prod", 3, fx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	e := engine.Over(search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards(c.ShardList())}))
	rep, err := e.Consistency(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Drift) != 0 || rep.Checked < 10 {
		t.Fatalf("fresh fleet: checked %d, drift %+v", rep.Checked, rep.Drift)
	}
	cl2, _ := c.Shards[1].Client()
	var role map[string]any
	if err := cl2.GetJSON(ctx, pathOf(t, shards.Roles, "web"), &role); err != nil {
		t.Fatal(err)
	}
	role["description"] = "edited on one shard"
	if _, err := cl2.Do(ctx, "PUT", pathOf(t, shards.Roles, "web"), role); err != nil {
		t.Fatal(err)
	}
	for _, g := range c.Shards[:2] {
		cl, _ := g.Client()
		if _, err := cl.Do(ctx, "PUT", pathOf(t, shards.Cookbooks, "nginx", "1.2.0"), cookbook("nginx", "1.2.0")); err != nil {
			t.Fatalf("uploading a cookbook to %s: %v", g.Name, err)
		}
	}
	rep, err = e.Consistency(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]api.Drift{}
	for _, d := range rep.Drift {
		got[d.Kind+" "+d.Name] = d
	}
	r, ok := got["role web"]
	if !ok || len(r.Versions) != 2 || fmt.Sprint(r.Versions[1].Shards) != "[chef-2]" || fmt.Sprint(r.Versions[1].Keys) != "[description]" {
		b, _ := json.Marshal(rep.Drift)
		t.Fatalf("role web drift not reported as chef-2's: %s", b)
	}
	cb, ok := got["cookbook_version nginx@1.2.0"]
	if !ok || fmt.Sprint(cb.Missing) != "[chef-3]" {
		b, _ := json.Marshal(rep.Drift)
		t.Fatalf("cookbook drift not reported as missing on chef-3: %s", b)
	}
	if len(rep.Drift) != 2 {
		t.Fatalf("want 2 drifts, got %+v", rep.Drift)
	}
}

func cookbook(name, version string) map[string]any {
	return map[string]any{
		"name": name + "-" + version, "cookbook_name": name, "version": version, "json_class": "Chef::CookbookVersion",
		"chef_type": "cookbook_version", "frozen?": false,
		"metadata": map[string]any{"name": name, "version": version, "dependencies": map[string]any{}, "recipes": map[string]any{}},
		"recipes":  []any{}, "attributes": []any{}, "files": []any{}, "templates": []any{}, "libraries": []any{},
		"definitions": []any{}, "providers": []any{}, "resources": []any{}, "root_files": []any{},
	}
}
