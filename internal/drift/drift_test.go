package drift_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
)

// startShards serves one fake shard per fixture, named s0, s1, ..., and
// the whole engine over them.
func startShards(t *testing.T, o fakeshard.Options, pageSize int, fxs ...*devfleet.Fixture) ([]*fakeshard.Shard, *engine.Engine) {
	t.Helper()
	out, list := fakeshard.StartFixtures(t, o, fxs...)
	return out, engine.Over(search.MustNew(search.Config{DefaultStack: "prod", PageSize: pageSize, CheckQueries: true}, search.Deps{Topology: search.StaticShards(list)}))
}

// The drift report reads each index with one paged search per shard, not
// a request per object.
func TestConsistencyReadsPages(t *testing.T) {
	var fxs []*devfleet.Fixture
	for i := 0; i < 3; i++ {
		fx := &devfleet.Fixture{DataBags: map[string][]devfleet.Object{}}
		for r := 0; r < 40; r++ {
			desc := "same everywhere"
			if r == 7 && i == 2 {
				desc = "edited on s2"
			}
			fx.Roles = append(fx.Roles, devfleet.Object{"name": fmt.Sprintf("role%02d", r), "description": desc, "json_class": "Chef::Role", "chef_type": "role"})
		}
		fx.Environments = []devfleet.Object{{"name": "prod", "json_class": "Chef::Environment"}}
		fx.DataBags["users"] = []devfleet.Object{{"id": "alice", "shell": "/bin/bash"}}
		if i != 1 {
			fx.DataBags["users"] = append(fx.DataBags["users"], devfleet.Object{"id": "bob", "shell": "/bin/zsh"})
		}
		fxs = append(fxs, fx)
	}
	var shardsOf []*fakeshard.Shard
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var list search.StaticShards
	for i, fx := range fxs {
		books := map[string][]string{"nginx": {"1.0.0"}}
		if i == 0 {
			books["nginx"] = append(books["nginx"], "1.1.0")
		}
		s, err := fakeshard.FromFixture(fx, fakeshard.Options{Cookbooks: books})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Close)
		shardsOf = append(shardsOf, s)
		list = append(list, s.Config(fmt.Sprintf("s%d", i), "prod", key))
	}
	e := engine.Over(search.MustNew(search.Config{DefaultStack: "prod", PageSize: 25}, search.Deps{Topology: list}))
	rep, err := e.Consistency(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range rep.Drift {
		var vs []string
		for _, v := range d.Versions {
			vs = append(vs, strings.Join(v.Shards, "+")+fmt.Sprint(v.Keys))
		}
		got = append(got, fmt.Sprintf("%s %s %v missing%v", d.Kind, d.Name, vs, d.Missing))
	}
	want := []string{
		"cookbook_version nginx@1.1.0 [s0[]] missing[s1 s2]",
		"data_bag_item users/bob [s0+s2[]] missing[s1]",
		"role role07 [s0+s1[] s2[description]] missing[]",
	}
	if !slices.Equal(got, want) || rep.Checked != 40+1+2+2 {
		t.Fatalf("drift (checked %d):\n%s\nwant\n%s", rep.Checked, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, s := range shardsOf {
		// data, cookbooks, role (2 pages of 25), environment, users.
		if st := s.Stats(); st.Requests != 6 || st.Searches != 4 {
			t.Errorf("shard s%d: %+v, want 6 requests of which 4 searches", i, st)
		}
	}
}
