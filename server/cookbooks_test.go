package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
)

// go-chef's cookbook listings (the calls knife's environment compare -a
// and cookbook list make) get from Shearch over 2 shards, each holding
// some cookbook versions, the answers of one goiardi holding them all,
// the server's URL aside.
func TestCookbooksLikeOneChefServer(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleettest.Start(ctx, 2, fx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	one, err := devfleet.StartCluster(ctx, "single", "prod", 1, fx)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Stop()
	put := func(g *devfleet.Goiardi, name, version string) {
		c, err := g.Client()
		if err != nil {
			t.Fatal(err)
		}
		p, err := shards.ObjectPath(shards.Cookbooks, name, version)
		if err != nil {
			t.Fatal(err)
		}
		cb := map[string]any{"name": name + "-" + version, "cookbook_name": name, "version": version,
			"json_class": "Chef::CookbookVersion", "chef_type": "cookbook_version", "frozen?": false,
			"metadata": map[string]any{"name": name, "version": version, "dependencies": map[string]any{}}}
		if _, err := c.Do(ctx, "PUT", p, cb); err != nil {
			t.Fatalf("uploading %s %s: %v", name, version, err)
		}
	}
	for _, cb := range []struct {
		shard         int
		name, version string
	}{{0, "nginx", "12.0.5"}, {1, "nginx", "12.1.0"}, {0, "nginx", "9.10.0"}, {1, "apt", "7.4.0"}, {0, "apt", "7.4.0"}} {
		put(f.Cluster.Shards[cb.shard], cb.name, cb.version)
		put(one.Shards[0], cb.name, cb.version)
	}
	key, err := readFile(one.Shards[0].AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	ref := goChefClient(t, one.Shards[0].URL, "admin", key)
	via := goChefClient(t, f.HTTP.URL, "admin", throwawayKey(t))
	same := func(what string, a, b any, errA, errB error) {
		t.Helper()
		if errA != nil || errB != nil {
			t.Fatalf("%s: one server %v, Shearch %v", what, errA, errB)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		want := strings.ReplaceAll(string(ja), one.Shards[0].URL, f.HTTP.URL)
		if want != string(jb) {
			t.Errorf("%s:\nShearch    %s\none server %s", what, jb, want)
		}
		if !strings.Contains(want, "12.") {
			t.Errorf("%s: the answer holds no version: %s", what, want)
		}
	}
	a, errA := ref.Cookbooks.List()
	b, errB := via.Cookbooks.List()
	same("GET /cookbooks", a, b, errA, errB)
	for _, n := range []string{"1", "2", "all"} {
		a, errA = ref.Cookbooks.ListAvailableVersions(n)
		b, errB = via.Cookbooks.ListAvailableVersions(n)
		same("GET /cookbooks?num_versions="+n, a, b, errA, errB)
	}
	a, errA = ref.Cookbooks.GetAvailableVersions("nginx", "")
	b, errB = via.Cookbooks.GetAvailableVersions("nginx", "")
	same("GET /cookbooks/nginx", a, b, errA, errB)
	_, errA = ref.Cookbooks.GetAvailableVersions("nope", "")
	_, errB = via.Cookbooks.GetAvailableVersions("nope", "")
	var ea, eb *chef.ErrorResponse
	if !errors.As(errA, &ea) || !errors.As(errB, &eb) || ea.StatusCode() != 404 || eb.StatusCode() != 404 {
		t.Errorf("an unknown cookbook: one server %v, Shearch %v; want 404 from both", errA, errB)
	}
}
