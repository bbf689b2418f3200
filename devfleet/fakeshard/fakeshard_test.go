package fakeshard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/shards"
)

func TestFakeShard(t *testing.T) {
	ctx := context.Background()
	fleet, err := fakeshard.Fleet(300, 2, 1, fakeshard.Options{Cookbooks: map[string][]string{"nginx": {"1.0.0", "1.1.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := fleet[0].Start()
	defer s.Close()
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := shards.NewClient(s.Config("a", "prod", key))
	if err != nil {
		t.Fatal(err)
	}
	c.PageSize = 40

	all, err := c.Search(ctx, "node", "*:*", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 100 || len(all) > 200 {
		t.Fatalf("shard 0 of 2 holds %d of 300 nodes", len(all))
	}
	names := make([]string, len(all))
	for i, r := range all {
		names[i] = r.Name
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("rows are not in name order once each: %v", names[:5])
	}
	st := s.Stats()
	if want := int64(len(all)/40 + 1); st.Searches != want {
		t.Errorf("paged search of %d rows by 40 took %d requests, want %d", len(all), st.Searches, want)
	}

	nodePath, err := shards.ObjectPath(shards.Nodes, names[3])
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := c.GetJSON(ctx, nodePath, &obj); err != nil {
		t.Fatal(err)
	}
	raw, _ := c.Do(ctx, http.MethodGet, nodePath, nil)
	if len(raw) < 8000 || len(raw) > 14000 {
		t.Errorf("a synthetic node is %d bytes, want about 10 KB", len(raw))
	}

	byName, err := c.Search(ctx, "node", "name:("+names[1]+" OR "+names[7]+" OR nope.example.com)", nil)
	if err != nil || len(byName) != 2 || byName[0].Name != names[1] || byName[1].Name != names[7] {
		t.Fatalf("name lookup: %v, %v", byName, err)
	}

	part, err := c.Search(ctx, "node", "role:web AND chef_environment:prod", map[string][]string{"ip": {"ipaddress"}, "env": {"chef_environment"}})
	if err != nil || len(part) == 0 {
		t.Fatalf("partial search: %d rows, %v", len(part), err)
	}
	for _, r := range part {
		var d map[string]any
		if err := json.Unmarshal(r.Data, &d); err != nil || d["env"] != "prod" || d["ip"] == nil || d["ip"] == "" {
			t.Fatalf("partial row %s: %s", r.Name, r.Data)
		}
	}

	roles, err := c.Search(ctx, "role", "*:*", nil)
	if err != nil || len(roles) != 7 {
		t.Fatalf("roles: %d, %v", len(roles), err)
	}
	users, err := c.Search(ctx, "users", "*:*", nil)
	if err != nil || len(users) != 4 || !strings.Contains(string(users[0].Data), `"raw_data"`) {
		t.Fatalf("data bag search: %v, %v", users, err)
	}
	var books map[string]any
	if err := c.GetJSON(ctx, shards.CookbookVersionsPath(), &books); err != nil || len(books) != 1 {
		t.Fatalf("cookbooks: %v, %v", books, err)
	}

	res, err := http.Get(s.URL() + "/../../etc/passwd")
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("a path outside the org answered %d", res.StatusCode)
		}
	}
	if _, err := c.Search(ctx, "nosuchbag", "*:*", nil); err == nil {
		t.Error("an unknown index answered")
	}

	s.SetFailure(&fakeshard.Failure{Status: 500})
	if _, err := c.Search(ctx, "node", "*:*", nil); err == nil {
		t.Error("a failing shard answered")
	}
	s.SetFailure(&fakeshard.Failure{Close: true})
	if _, err := c.Search(ctx, "node", "*:*", nil); err == nil {
		t.Error("a closing shard answered")
	}
}
