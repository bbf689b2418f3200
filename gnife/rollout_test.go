package gnife

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
)

// The chef-client versions of the rollout fleet.
var rolloutVersions = []string{"17.10.0", "17.9.26", "16.18.0"}

// rolloutFleet is 3,000 synthetic nodes on 3 goiardi shards with
// chef_packages.chef.version spread over three versions, unevenly per
// environment and shard (prod on chef-1 lags most), and 40 nodes also on
// a second shard as an older copy holding another version. It is loaded
// once for the test that uses it; writes go through a token with write
// scope.
type rolloutFleet struct {
	*fleettest.Fleet
	dups []string
}

const rolloutToken = "rollout-write-token"

func loadRolloutFleet() (*rolloutFleet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fx := devfleet.Synthetic(3000, 24, time.Now().Unix())
	rng := rand.New(rand.NewSource(24))
	// The share of 17.10.0 by environment and shard, the rest split over
	// the older two.
	reach := map[string][3]float64{"prod": {0.70, 0.92, 0.97}, "dev": {0.99, 0.96, 0.94}, "staging": {0.90, 0.95, 0.99}}
	for _, n := range fx.Nodes {
		env := n["chef_environment"].(string)
		sh := devfleet.ShardOf(n["name"].(string), 3)
		v := rolloutVersions[1+rng.Intn(2)]
		if rng.Float64() < reach[env][sh] {
			v = rolloutVersions[0]
		}
		n["automatic"].(map[string]any)["chef_packages"] = map[string]any{"chef": map[string]any{"version": v}, "ohai": map[string]any{"version": v}}
	}
	dir, err := os.MkdirTemp("", "rollout-tokens")
	if err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(rolloutToken+" write\n"), 0o600); err != nil {
		return nil, err
	}
	a, err := auth.New(auth.Options{TokensFile: tokens})
	if err != nil {
		return nil, err
	}
	f, err := fleettest.Start(ctx, 3, fx, func(f *fleettest.Fleet) {
		f.Engine.Timeout = 60 * time.Second
		f.Server.Auth = a
	})
	if err != nil {
		return nil, err
	}
	if f.Client, err = api.NewClient(&api.Config{Addresses: []string{f.HTTP.URL}, Token: rolloutToken}); err != nil {
		f.Close()
		return nil, err
	}
	rf := &rolloutFleet{Fleet: f}
	// 40 nodes also on the next shard: older, on another version.
	for i := 0; i < 40; i++ {
		orig := fx.Nodes[i*70]
		name := orig["name"].(string)
		var stale map[string]any
		b, _ := json.Marshal(orig)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		dec.Decode(&stale)
		auto := stale["automatic"].(map[string]any)
		auto["ohai_time"] = json.Number("1000000000")
		auto["chef_packages"] = map[string]any{"chef": map[string]any{"version": "15.0.300"}}
		other := (devfleet.ShardOf(name, 3) + 1) % 3
		admin, err := f.Cluster.Shards[other].Client()
		if err != nil {
			f.Close()
			return nil, err
		}
		if _, err := admin.Do(ctx, "POST", shards.CollectionPath(shards.Nodes), stale); err != nil {
			f.Close()
			return nil, fmt.Errorf("posting the stale copy of %s: %w", name, err)
		}
		rf.dups = append(rf.dups, name)
	}
	return rf, nil
}

func (f *rolloutFleet) gnife(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.HTTP.URL}, Token: rolloutToken}}
	code := Run(args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
	return out.String(), errOut.String(), code
}

// TestRolloutFleet runs the facet and rollout checks over the one fleet,
// in order: the gate updates nodes and stops a shard at its end.
func TestRolloutFleet(t *testing.T) {
	integration.Needs(t, "goiardi")
	// Loaded once for both checks: 3,000 nodes are the slow part.
	f, err := loadRolloutFleet()
	if err != nil {
		t.Fatalf("starting the rollout fleet: %v", err)
	}
	defer f.Close()
	if !t.Run("facets by group match the export", func(t *testing.T) { facetsByGroupMatchExport(t, f) }) {
		return
	}
	t.Run("rollout gate", func(t *testing.T) { rolloutGate(t, f) })
}

// exported is one row of the export with its node decoded once, as the
// counts below read it many times.
type exported struct {
	api.Row
	Obj map[string]any
}

// export reads the whole result of q as whole nodes through the client's
// NDJSON stream.
func (f *rolloutFleet) export(t *testing.T, q string) []exported {
	t.Helper()
	var rows []exported
	for r, err := range f.Client.Rows(context.Background(), "node", q, nil) {
		if err != nil {
			t.Fatalf("ndjson export of %s: %v", q, err)
		}
		var obj map[string]any
		if err := r.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, exported{r, obj})
	}
	return rows
}

func chefVersion(node map[string]any) any {
	auto, _ := node["automatic"].(map[string]any)
	cp, _ := auto["chef_packages"].(map[string]any)
	c, _ := cp["chef"].(map[string]any)
	return c["version"]
}

// Facets split by chef_environment and by shard equal counts made by hand
// from a full NDJSON export, each node once (the copy search keeps: the
// 40 older copies' version 15.0.300 counts nowhere).
func facetsByGroupMatchExport(t *testing.T, f *rolloutFleet) {
	ctx := context.Background()
	rows := f.export(t, "*:*")
	if len(rows) != 3000 {
		t.Fatalf("export has %d rows, want 3000 (each duplicate once)", len(rows))
	}
	for _, by := range []string{"chef_environment", "shard"} {
		res, err := f.Client.Facets(ctx, "node", "*:*", []string{"chef_packages.chef.version", "platform"}, &api.FacetOptions{By: by})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]int{}
		totals := map[string]int{}
		for _, r := range rows {
			g := r.Shard
			if by != "shard" {
				g = r.Obj["chef_environment"].(string)
			}
			if want[g] == nil {
				want[g] = map[string]int{}
			}
			want[g][chefVersion(r.Obj).(string)]++
			totals[g]++
		}
		got := map[string]map[string]int{}
		gotTotals := map[string]int{}
		sum := 0
		for name, g := range res.By {
			got[name] = g.Facets["chef_packages.chef.version"].Values
			gotTotals[name] = g.Total
			sum += g.Total
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotTotals, totals) || sum != 3000 || res.ByOther != nil || res.ByTruncated {
			t.Errorf("by=%s:\n got %v %v\nwant %v %v", by, got, gotTotals, want, totals)
		}
		if len(want) != 3 {
			t.Errorf("by=%s has %d groups: the fleet does not exercise it", by, len(want))
		}
		for name, g := range res.By {
			if g.Facets["chef_packages.chef.version"].Values["15.0.300"] != 0 {
				t.Errorf("by=%s group %s counted a stale copy", by, name)
			}
		}
	}
	// Groups are bounded by max_values; the rest is counted as other.
	bounded, err := f.Client.Facets(ctx, "node", "*:*", []string{"platform"}, &api.FacetOptions{By: "chef_environment", MaxValues: 2})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, g := range bounded.By {
		sum += g.Total
	}
	if len(bounded.By) != 2 || bounded.ByOther == nil || !bounded.ByTruncated || sum+bounded.ByOther.Total != 3000 {
		t.Errorf("max_values=2 by chef_environment: %d groups, other %+v, truncated %v", len(bounded.By), bounded.ByOther, bounded.ByTruncated)
	}

	out, errOut, code := f.gnife("facets", "*:*", "-a", "chef_packages.chef.version", "--by", "chef_environment")
	if code != 0 || strings.Count(out, "== chef_environment=") != 3 || !strings.Contains(out, "== chef_environment=prod: ") {
		t.Errorf("gnife facets --by: exit %d, stderr %q:\n%s", code, errOut, out)
	}
}

// gnife rollout: the shares match the export; the gate exits 1 while prod
// is below 90%, 0 once the lagging nodes are updated through Shearch, and
// 99 when a shard is stopped (0 again with --partial allow? no: the data
// is missing, so it only passes the counts it has).
func rolloutGate(t *testing.T, f *rolloutFleet) {
	ctx := context.Background()
	rows := f.export(t, "role:web")
	type count struct{ reached, total, stale int }
	byEnv := map[string]*count{}

	out, errOut, code := f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0",
		"--by", "chef_environment", "--min-share", "0.9", "-F", "json")
	var res api.Rollout
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("rollout -F json: exit %d, %v, stderr %q:\n%s", code, err, errOut, out)
	}
	for _, r := range rows {
		env := r.Obj["chef_environment"].(string)
		c := byEnv[env]
		if c == nil {
			c = &count{}
			byEnv[env] = c
		}
		c.total++
		if chefVersion(r.Obj) == "17.10.0" {
			c.reached++
		}
		auto := r.Obj["automatic"].(map[string]any)
		var ohai float64
		if n, ok := auto["ohai_time"].(json.Number); ok {
			ohai, _ = n.Float64()
		}
		if ohai < float64(res.Now-3600) {
			c.stale++
		}
	}
	got := map[string]*count{}
	for _, g := range res.Groups {
		got[g.Group] = &count{g.Reached, g.Total, g.Stale}
		if w := byEnv[g.Group]; w != nil && g.Share != float64(w.reached)/float64(w.total) {
			t.Errorf("group %s share %v, want %d/%d", g.Group, g.Share, w.reached, w.total)
		}
	}
	if !reflect.DeepEqual(got, byEnv) || byEnv["prod"] == nil || float64(byEnv["prod"].reached)/float64(byEnv["prod"].total) >= 0.9 {
		t.Fatalf("rollout groups %v, want from the export %v (prod below 90%%)", res.Groups, byEnv)
	}
	if code != 1 {
		t.Errorf("rollout gate with prod below 90%%: exit %d, want 1; stderr %q", code, errOut)
	}
	out, errOut, code = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0",
		"--by", "chef_environment", "--min-share", "0.9")
	t.Logf("gnife rollout role:web --by chef_environment --min-share 0.9 (exit %d):\n%s%s", code, out, errOut)
	if code != 1 || !strings.Contains(out, "GROUP") || !strings.Contains(out, "\nall ") || !strings.Contains(errOut, "prod") {
		t.Errorf("text table: exit %d, stderr %q:\n%s", code, errOut, out)
	}

	// --by shard: the shard whose copy was kept.
	out, _, _ = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0", "--by", "shard", "-F", "json")
	var byShard api.Rollout
	if err := json.Unmarshal([]byte(out), &byShard); err != nil {
		t.Fatalf("--by shard: %v\n%s", err, out)
	}
	wantShard := map[string][2]int{}
	for _, r := range rows {
		c := wantShard[r.Shard]
		c[1]++
		if chefVersion(r.Obj) == "17.10.0" {
			c[0]++
		}
		wantShard[r.Shard] = c
	}
	gotShard := map[string][2]int{}
	for _, g := range byShard.Groups {
		gotShard[g.Group] = [2]int{g.Reached, g.Total}
	}
	if len(wantShard) != 3 || !reflect.DeepEqual(gotShard, wantShard) {
		t.Errorf("--by shard: %v, want from the export %v", gotShard, wantShard)
	}

	// --stale 30m counts the nodes that have not checked in for 30 minutes.
	out, _, _ = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0",
		"--by", "chef_environment", "--stale", "30m", "-F", "json")
	var res30 api.Rollout
	if err := json.Unmarshal([]byte(out), &res30); err != nil {
		t.Fatalf("--stale 30m: %v\n%s", err, out)
	}
	want30 := map[string]int{}
	for _, r := range rows {
		var ohai float64
		if n, ok := r.Obj["automatic"].(map[string]any)["ohai_time"].(json.Number); ok {
			ohai, _ = n.Float64()
		}
		if ohai < float64(res30.Now-1800) {
			want30[r.Obj["chef_environment"].(string)]++
		}
	}
	got30 := map[string]int{}
	for _, g := range res30.Groups {
		got30[g.Group] = g.Stale
	}
	if res30.StaleAfterSeconds != 1800 || !reflect.DeepEqual(got30, want30) || got30["prod"] <= byEnv["prod"].stale {
		t.Errorf("--stale 30m: %ds, stale %v, want %v (more than at 1h: %d in prod)", res30.StaleAfterSeconds, got30, want30, byEnv["prod"].stale)
	}

	// --lagging lists every node short of the value, each with its shard.
	out, _, _ = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0", "--lagging")
	lagLines := 0
	for _, line := range strings.Split(out, "\n") {
		if fs := strings.Fields(line); len(fs) >= 4 && strings.HasPrefix(fs[1], "chef-") {
			lagLines++
		}
	}
	if want := byEnv["prod"].total + byEnv["dev"].total + byEnv["staging"].total - byEnv["prod"].reached - byEnv["dev"].reached - byEnv["staging"].reached; lagLines != want {
		t.Errorf("--lagging listed %d nodes, want %d:\n%s", lagLines, want, out)
	}

	// Update every lagging node through Shearch.
	lag, err := f.Client.Rollout(ctx, "node", "role:web", "chef_packages.chef.version", "17.10.0", &api.RolloutOptions{By: "chef_environment", Lagging: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(lag.Lagging) != lag.All.Total-lag.All.Reached {
		t.Fatalf("%d lagging nodes listed, %d not reached", len(lag.Lagging), lag.All.Total-lag.All.Reached)
	}
	for _, n := range lag.Lagging {
		if n.Value == "17.10.0" || n.Value == "15.0.300" {
			t.Fatalf("lagging node %s listed with value %s", n.Name, n.Value)
		}
		node, _, err := f.Client.Do(ctx, "GET", "/nodes/"+n.Name, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(node))
		dec.UseNumber()
		dec.Decode(&obj)
		obj["automatic"].(map[string]any)["chef_packages"] = map[string]any{"chef": map[string]any{"version": "17.10.0"}}
		if _, _, err := f.Client.Do(ctx, "PUT", "/nodes/"+n.Name, map[string][]string{"shard": {n.Shard}}, obj); err != nil {
			t.Fatalf("updating %s through Shearch: %v", n.Name, err)
		}
	}
	out, errOut, code = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0",
		"--by", "chef_environment", "--min-share", "0.9")
	if code != 0 {
		t.Errorf("rollout gate after the update: exit %d, want 0; stderr %q:\n%s", code, errOut, out)
	}

	// A stopped shard: the gate must not pass on missing data.
	f.Cluster.Shards[2].Stop()
	out, errOut, code = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0",
		"--by", "chef_environment", "--min-share", "0.9")
	if code != 99 || !strings.Contains(errOut, "chef-3") || !strings.Contains(errOut, "--partial allow") {
		t.Errorf("rollout gate with a shard stopped: exit %d, want 99 naming chef-3 and --partial allow; stderr %q:\n%s", code, errOut, out)
	}
	_, errOut, code = f.gnife("rollout", "role:web", "--attr", "chef_packages.chef.version", "--want", "17.10.0",
		"--by", "chef_environment", "--min-share", "0.9", "--partial", "allow")
	if code != 0 || !strings.Contains(errOut, "WARNING: shard chef-3 failed") {
		t.Errorf("rollout gate with a shard stopped and --partial allow: exit %d, stderr %q", code, errOut)
	}
}
