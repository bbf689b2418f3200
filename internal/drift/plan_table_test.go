package drift

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/writes"
)

// versions parses "h1:s0,s1 h2:s2" into a drift's versions.
func versions(s string) []api.DriftVersion {
	var out []api.DriftVersion
	for _, f := range strings.Fields(s) {
		h, shards, _ := strings.Cut(f, ":")
		out = append(out, api.DriftVersion{Hash: h, Shards: strings.Split(shards, ",")})
	}
	return out
}

func actionText(a api.RepairAction) string {
	var b []string
	if a.From != "" {
		b = append(b, "copy "+a.Hash+" from "+a.From)
	}
	for _, p := range []struct {
		verb   string
		shards []string
	}{{"update", a.Update}, {"create", a.Create}, {"delete", a.Delete}} {
		if len(p.shards) > 0 {
			b = append(b, p.verb+" "+strings.Join(p.shards, ","))
		}
	}
	return strings.Join(b, "; ")
}

// TestPlanAction: a repair spreads the copy most voting shards hold, or
// deletes the object when more voting shards lack it; a shard known only
// from Consul is repaired but never votes, and never supplies the copy.
func TestPlanAction(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions string
		missing  string
		consul   string // shards known only from Consul
		want     string // "" when nothing can be planned
		obj      string // the shard whose copy is written
	}{
		{name: "majority copy spreads", versions: "h1:s0,s1 h2:s2", want: "copy h1 from s0; update s2", obj: "s0"},
		{name: "missing copies are created", versions: "h1:s1,s2", missing: "s0", want: "copy h1 from s1; create s0", obj: "s1"},
		{name: "update and create at once", versions: "h1:s1,s2 h2:s3", missing: "s0", want: "copy h1 from s1; update s3; create s0", obj: "s1"},
		{name: "most shards lack it: delete", versions: "h1:s0", missing: "s1,s2", want: "delete s0"},
		{name: "a delete covers every copy", versions: "h1:s3 h2:s0", missing: "s1,s2,s4", want: "delete s0,s3"},
		{name: "a tie with the missing keeps the object", versions: "h1:s0", missing: "s1", want: "copy h1 from s0; create s1", obj: "s0"},
		{name: "a tie of copies goes to the first listed", versions: "h1:s1 h2:s0", want: "copy h1 from s1; update s0", obj: "s1"},
		{name: "Consul shards do not vote", versions: "h2:c1,c2 h1:s0", consul: "c1,c2", want: "copy h1 from s0; update c1,c2", obj: "s0"},
		{name: "a Consul shard never supplies the copy", versions: "h1:c1,s1 h2:s0", consul: "c1", want: "copy h1 from s1; update s0", obj: "s1"},
		{name: "Consul shards cannot outvote a delete", versions: "h1:c1,c2", missing: "s0", consul: "c1,c2", want: "delete c1,c2"},
		{name: "only Consul shards differ: nothing to plan", versions: "h1:c1", missing: "c2", consul: "c1,c2", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := api.Drift{Kind: writes.KindRole, Name: "web", Versions: versions(tc.versions)}
			if tc.missing != "" {
				d.Missing = strings.Split(tc.missing, ",")
			}
			voters := map[string]bool{}
			var copies []objCopy
			for _, v := range d.Versions {
				for _, s := range v.Shards {
					voters[s] = !strings.Contains(","+tc.consul+",", ","+s+",")
					copies = append(copies, objCopy{Shard: s, Data: map[string]any{"held by": s}})
				}
			}
			for _, s := range d.Missing {
				voters[s] = !strings.Contains(","+tc.consul+",", ","+s+",")
			}
			a, obj, ok := planAction(d, copies, voters)
			if ok != (tc.want != "") {
				t.Fatalf("ok=%v for %+v", ok, a)
			}
			if !ok {
				return
			}
			if a.Kind != writes.KindRole || a.Name != "web" {
				t.Errorf("action names %s %s", a.Kind, a.Name)
			}
			if got := actionText(a); got != tc.want {
				t.Errorf("action %q, want %q", got, tc.want)
			}
			if got := fmt.Sprint(obj["held by"]); tc.obj != "" && got != tc.obj || tc.obj == "" && obj != nil {
				t.Errorf("writes the copy of %s, want %q", got, tc.obj)
			}
		})
	}
}
