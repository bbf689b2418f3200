package discovery_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet/route53stub"
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/shards"
)

func startTopology(t *testing.T, cfg discovery.Config) (*discovery.Topology, *logBuffer) {
	t.Helper()
	logger, logs := newLogger()
	topo, err := discovery.NewTopology(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(topo.Close)
	return topo, logs
}

// A weight change and a new record show up after Refresh, as a new version
// with one log line naming both changes.
func TestTopologySeesWeightChangeAndNewRecord(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{PageSize: 1})
	topo, logs := startTopology(t, discovery.Config{Route53: r53Config(s.URL())})
	before := topo.Snapshot()
	wantShards(t, before.Shards("prod"),
		"chef-1 prod http://127.0.0.2:4647 w=20 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown")

	// Nothing changed: same version.
	if err := topo.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := topo.Snapshot().Version; v != before.Version {
		t.Fatalf("version moved %d -> %d without a change", before.Version, v)
	}

	upsert(t, s, rec("chef.prod.example.com.", "chef-1", 0, "127.0.0.2"), rec("chef.prod.example.com.", "chef-4", 30, "127.0.0.4"))
	if err := topo.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := topo.Snapshot()
	wantShards(t, after.Shards("prod"),
		"chef-1 prod http://127.0.0.2:4647 w=0 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown",
		"chef-4 prod http://127.0.0.4:4647 w=30 route53 unknown")
	if after.Version != before.Version+1 || !after.UpdatedAt.After(before.UpdatedAt) {
		t.Fatalf("version %d -> %d, updated %v -> %v", before.Version, after.Version, before.UpdatedAt, after.UpdatedAt)
	}
	var line string
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, "topology changed") && strings.Contains(l, "chef-4") {
			line = l
		}
	}
	if !strings.Contains(line, "chef-1: weight 20 -> 0") || !strings.Contains(line, "added chef-4") {
		t.Fatalf("no single change line naming both changes:\n%s", logs)
	}
	t.Log(line)

	upsert(t, s, rec("chef.prod.example.com.", "chef-4", 30, "127.0.0.4"))
	if err := s.Delete(testZone, "chef.prod.example.com.", "CNAME", "chef-4"); err != nil {
		t.Fatal(err)
	}
	if err := topo.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := topo.Snapshot(); len(got.All) != 3 || got.Version != after.Version+1 {
		t.Fatalf("after deleting chef-4: version %d, %s", got.Version, describe(got.All))
	}
}

// With the stand-in stopped the last-known-good is served and reported
// stale; a new Topology with only the cache file still knows the shards,
// and picks up live data again once Route53 is back.
func TestTopologyKeepsLastKnownGoodAndCache(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{})
	cache := filepath.Join(t.TempDir(), "state", "shards.json")
	cfg := discovery.Config{Route53: r53Config(s.URL()), CacheFile: cache}
	topo, logs := startTopology(t, cfg)
	good := topo.Snapshot()
	if good.Stale || len(good.All) != 3 {
		t.Fatalf("before outage: stale %v, %s", good.Stale, describe(good.All))
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("cache not written: %v", err)
	}

	addr := s.Addr()
	s.Close()
	err := topo.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "route53 zone "+testZone) {
		t.Fatalf("Refresh during outage: %v", err)
	}
	snap := topo.Snapshot()
	if describe(snap.All) != describe(good.All) || snap.Version != good.Version || !snap.Stale {
		t.Fatalf("during outage: stale %v, version %d, %s", snap.Stale, snap.Version, describe(snap.All))
	}
	status := snap.Status()
	body, _ := json.Marshal(status)
	if !strings.Contains(string(body), `"stale":true`) || status.Sources[0].State != "stale" ||
		!strings.Contains(status.Sources[0].LastError, "connection refused") || status.Sources[0].LastSuccess.IsZero() {
		t.Fatalf("status during outage: %s", body)
	}
	if !strings.Contains(logs.String(), "keeping last-known-good") {
		t.Fatalf("outage not logged:\n%s", logs)
	}

	// A restart during the outage: only the cache knows the shards.
	logger, logs2 := newLogger()
	restarted, err := discovery.NewTopology(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	snap = restarted.Snapshot()
	wantShards(t, snap.All,
		"chef-1 prod http://127.0.0.2:4647 w=20 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown")
	if !snap.Stale || !snap.Sources[0].FromCache || snap.Version < good.Version {
		t.Fatalf("from cache: stale %v, sources %+v, version %d (was %d)", snap.Stale, snap.Sources, snap.Version, good.Version)
	}
	if !strings.Contains(logs2.String(), "using cached shards") {
		t.Fatalf("cache use not logged:\n%s", logs2)
	}

	// Route53 back, with a change: live data replaces the cache.
	if _, err := s.Start(addr); err != nil {
		t.Fatalf("restarting the stand-in on %s: %v", addr, err)
	}
	upsert(t, s, rec("chef.prod.example.com.", "chef-3", 15, "chef-3.prod.example.com."))
	if err := restarted.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	snap = restarted.Snapshot()
	if snap.Stale || snap.Sources[0].FromCache || snap.Sources[0].State != "ok" || !strings.Contains(describe(snap.All), "chef-3 prod http://chef-3.prod.example.com:4647 w=15") {
		t.Fatalf("after recovery: %+v\n%s", snap.Sources, describe(snap.All))
	}
	data, err := os.ReadFile(cache)
	if err != nil || !strings.Contains(string(data), `"weight": 15`) {
		t.Fatalf("cache not rewritten after the change: %v\n%s", err, data)
	}
}

// Static beats Route53 for a shard's place, defaults fill the gaps, and
// Shards filters by stack with "all" meaning every stack.
func TestTopologyStaticPrecedenceAndStatus(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{})
	upsert(t, s, rec("chef.dev.example.com.", "chef-d1", 5, "127.0.0.10"))
	cfg := discovery.Config{
		Route53: r53Config(s.URL(),
			discovery.Route53Record{Name: "chef.prod.example.com.", Stack: "prod"},
			discovery.Route53Record{Name: "chef.dev.example.com.", Stack: "dev"}),
		Static: []shards.Shard{
			{Name: "chef-1", URL: "http://127.0.0.99:4647", Stack: "prod", ClientName: "pivotal"},
			{Name: "chef-s", URL: "http://127.0.0.98:4647", Stack: "dev"},
		},
		Defaults: discovery.ShardDefaults{ClientName: "admin", ClientKey: "/keys/admin.pem", Timeout: 7 * time.Second},
	}
	topo, _ := startTopology(t, cfg)
	snap := topo.Snapshot()
	wantShards(t, snap.Shards("all"),
		"chef-d1 dev http://127.0.0.10:4647 w=5 route53 unknown",
		"chef-s dev http://127.0.0.98:4647 w=- static unknown",
		"chef-1 prod http://127.0.0.99:4647 w=20 static unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown")
	if got := snap.Shards("dev"); len(got) != 2 {
		t.Fatalf("dev: %s", describe(got))
	}
	if got := snap.Shards("qa"); len(got) != 0 {
		t.Fatalf("qa: %s", describe(got))
	}
	one, ok := snap.Shard("chef-1")
	if !ok || one.ClientName != "pivotal" || one.ClientKey != "/keys/admin.pem" || one.Timeout != 7*time.Second {
		t.Fatalf("chef-1 = %+v", one)
	}
	two, _ := snap.Shard("chef-2")
	if two.ClientName != "admin" {
		t.Fatalf("defaults not applied: %+v", two)
	}

	topo.ReportShardError("chef-2", os.ErrDeadlineExceeded)
	st := snap.Status()
	if st.Version != snap.Version || st.Stale || st.AgeSeconds < 0 || len(st.Shards) != 5 {
		t.Fatalf("status %+v", st)
	}
	for _, row := range st.Shards {
		switch row.Name {
		case "chef-1":
			if row.Source != shards.SourceStatic || len(row.Sources) != 2 || row.Sources[1] != shards.SourceRoute53 {
				t.Fatalf("chef-1 row %+v", row)
			}
		case "chef-2":
			if !strings.Contains(row.LastError, "timeout") || row.LastErrorAt.IsZero() {
				t.Fatalf("chef-2 row %+v", row)
			}
		}
	}
	topo.ReportShardError("chef-2", nil)
	for _, row := range topo.Snapshot().Status().Shards {
		if row.LastError != "" {
			t.Fatalf("error not cleared: %+v", row)
		}
	}
}

// A corrupt cache costs only the outage protection: start-up goes on with
// live data and rewrites the file.
func TestTopologyIgnoresCorruptCache(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{})
	cache := filepath.Join(t.TempDir(), "shards.json")
	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	topo, logs := startTopology(t, discovery.Config{Route53: r53Config(s.URL()), CacheFile: cache})
	if len(topo.Snapshot().All) != 3 || !strings.Contains(logs.String(), "ignoring unreadable shard cache") {
		t.Fatalf("%s\n%s", describe(topo.Snapshot().All), logs)
	}
	var c map[string]any
	data, _ := os.ReadFile(cache)
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("cache not rewritten: %v", err)
	}
}

func TestNewTopologyRejectsBadStatic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		static []shards.Shard
		want   string
	}{
		{[]shards.Shard{{Name: "a b", URL: "http://x", Stack: "prod"}}, "not a usable shard name"},
		{[]shards.Shard{{Name: "a", URL: "x:/y", Stack: "prod"}}, "not an http(s) URL"},
		{[]shards.Shard{{Name: "a", URL: "http://x", Stack: ""}}, "no stack"},
		{[]shards.Shard{{Name: "a", URL: "http://x", Stack: "all"}}, "reserved"},
		{[]shards.Shard{{Name: "a", URL: "http://x", Stack: "p"}, {Name: "a", URL: "http://y", Stack: "p"}}, "listed twice"},
		{nil, "no shards"},
	} {
		if _, err := discovery.NewTopology(discovery.Config{Static: tc.static}, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.static, err, tc.want)
		}
	}
}
