package drift_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// Two copies of a role on shards known only from Consul outnumber the
// one copy on a listed shard, yet decide nothing: anyone who can register
// a service could add them. The listed shard's copy is the one a repair
// spreads, to the Consul shards too; a role only they hold is removed
// from them, never planted on the listed shard.
func TestRepairMajorityIgnoresConsulOnlyShards(t *testing.T) {
	role := func(desc string) devfleet.Object {
		return devfleet.Object{"name": "web", "description": desc, "json_class": "Chef::Role", "chef_type": "role"}
	}
	other := func(desc string) devfleet.Object {
		return devfleet.Object{"name": "db", "description": desc, "json_class": "Chef::Role", "chef_type": "role"}
	}
	fxs := []*devfleet.Fixture{
		{Roles: []devfleet.Object{role("the real one")}},
		{Roles: []devfleet.Object{role("planted"), other("planted")}},
		{Roles: []devfleet.Object{role("planted"), other("planted")}},
	}
	_, e := startShards(t, fakeshard.Options{}, 0, fxs...)
	list := e.Engine.Topology.(search.StaticShards)
	list[0].Source, list[1].Source, list[2].Source = shards.SourceStatic, shards.SourceConsul, shards.SourceConsul
	plan, err := e.PlanRepair(context.Background(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range plan.Actions {
		got = append(got, fmt.Sprint(a.Kind, " ", a.Name, " from ", a.From, " update ", a.Update, " create ", a.Create, " delete ", a.Delete))
	}
	want := "[role db from  update [] create [] delete [s1 s2] role web from s0 update [s1 s2] create [] delete []]"
	if fmt.Sprint(got) != want {
		t.Fatalf("repair plan:\n%s\nwant\n%s", fmt.Sprint(got), want)
	}
}
