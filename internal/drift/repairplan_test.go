package drift_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
)

// TestPlanRepairTable plans repairs over in-process shards holding each
// case's objects: "role web a" is role web with description a; shards
// are s0, s1, ... in order.
func TestPlanRepairTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shards [][]string
		want   string
	}{
		{name: "no drift, nothing to do",
			shards: [][]string{{"role web a", "env prod a"}, {"role web a", "env prod a"}, {"role web a", "env prod a"}},
			want:   ""},
		{name: "one shard's role drifted",
			shards: [][]string{{"role web a"}, {"role web a"}, {"role web b"}},
			want:   "role web from s0 update [s2] create [] delete []"},
		{name: "a role missing on one shard",
			shards: [][]string{{"role web a"}, {}, {"role web a"}},
			want:   "role web from s0 update [] create [s1] delete []"},
		{name: "a role left on one shard only",
			shards: [][]string{{}, {"role old a"}, {}},
			want:   "role old from  update [] create [] delete [s1]"},
		{name: "environments and data bag items too, in kind then name order",
			shards: [][]string{{"role b a", "item users/alice a", "env prod a"}, {"role b a", "item users/alice b", "env prod b"}, {"role b b", "item users/alice b", "env prod a"}},
			want: "data_bag_item users/alice from s1 update [s0] create [] delete []; " +
				"environment prod from s0 update [s1] create [] delete []; role b from s0 update [s2] create [] delete []"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fxs []*devfleet.Fixture
			for _, objs := range tc.shards {
				fx := &devfleet.Fixture{DataBags: map[string][]devfleet.Object{}}
				for _, o := range objs {
					f := strings.Fields(o)
					switch f[0] {
					case "role":
						fx.Roles = append(fx.Roles, devfleet.Object{"name": f[1], "description": f[2], "json_class": "Chef::Role", "chef_type": "role"})
					case "env":
						fx.Environments = append(fx.Environments, devfleet.Object{"name": f[1], "description": f[2], "json_class": "Chef::Environment", "chef_type": "environment"})
					case "item":
						bag, id, _ := strings.Cut(f[1], "/")
						fx.DataBags[bag] = append(fx.DataBags[bag], devfleet.Object{"id": id, "v": f[2]})
					}
				}
				fxs = append(fxs, fx)
			}
			_, e := startShards(t, fakeshard.Options{}, 0, fxs...)
			plan, err := e.PlanRepair(context.Background(), "prod")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range plan.Actions {
				got = append(got, fmt.Sprint(a.Kind, " ", a.Name, " from ", a.From, " update ", a.Update, " create ", a.Create, " delete ", a.Delete))
			}
			if g := strings.Join(got, "; "); g != tc.want {
				t.Errorf("plan:\n %s\nwant\n %s", g, tc.want)
			}
			if plan.Stack != "prod" || plan.Shards.Total != len(tc.shards) || plan.Shards.OK != len(tc.shards) {
				t.Errorf("plan of stack %q over %d/%d shards", plan.Stack, plan.Shards.OK, plan.Shards.Total)
			}
			if len(plan.Unrepairable) != 0 {
				t.Errorf("unrepairable: %+v", plan.Unrepairable)
			}
		})
	}
}
