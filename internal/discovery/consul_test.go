package discovery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/devfleet/consulagent"
	"github.com/shearch/shearch/devfleet/route53stub"
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
)

// loopbackTrust admits the test shards: chef-* on loopback or 10/8.
var loopbackTrust = discovery.ConsulTrust{Names: []string{"chef-*"}, Networks: []string{"127.0.0.0/8", "10.0.0.0/8"}}

// consul starts a real dev agent for the test. A missing binary fails the
// test: these tests are the proof that Consul discovery works.
func consul(t *testing.T) (*consulagent.Agent, *consulapi.Client) {
	t.Helper()
	integration.Needs(t, "consul")
	a, err := consulagent.Start(t.Context(), consulagent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	cfg := consulapi.DefaultConfig()
	cfg.Address = a.Addr()
	c, err := consulapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

// register adds a chef-server instance carrying the shard tag; status ""
// means no check at all.
func register(t *testing.T, c *consulapi.Client, id, addr string, port int, status string, tags ...string) {
	t.Helper()
	registerTagged(t, c, id, addr, port, status, append([]string{discovery.DefaultShardTag}, tags...)...)
}

// registerTagged adds a chef-server instance with exactly these tags.
func registerTagged(t *testing.T, c *consulapi.Client, id, addr string, port int, status string, tags ...string) {
	t.Helper()
	reg := &consulapi.AgentServiceRegistration{ID: id, Name: discovery.DefaultShardService, Address: addr, Port: port, Tags: tags}
	if status != "" {
		reg.Check = &consulapi.AgentServiceCheck{CheckID: "check-" + id, TTL: "10m", Status: status}
	}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatal(err)
	}
}

func consulSource(t *testing.T, a *consulagent.Agent) *discovery.Consul {
	t.Helper()
	src, err := discovery.NewConsul(discovery.ConsulConfig{Address: a.Addr(), Timeout: 5 * time.Second, ShardScheme: "http", Trust: loopbackTrust})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// eventually retries cond until it holds; registrations reach the catalog
// asynchronously.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last state:\n%s", what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Shards registered as chef-server are found with their stack, URL and
// health; a broken registration is a problem, other services are ignored.
func TestConsulDiscoversShardServices(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	register(t, c, "chef-1", "127.0.0.2", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-1")
	register(t, c, "chef-2", "127.0.0.3", 4647, consulapi.HealthCritical, "stack:prod", "shard:chef-2")
	register(t, c, "chef-d1", "", 4650, consulapi.HealthWarning, "stack:dev", "shard:chef-d1", "other-tag")
	register(t, c, "chef-nameless", "127.0.0.4", 4647, consulapi.HealthPassing, "stack:prod")
	register(t, c, "chef-9", "127.0.0.9", 4647, consulapi.HealthCritical, "shard:chef-9")
	// Registered as chef-server with good tags, but without the shard tag:
	// anyone who can register a service must not receive signed requests.
	registerTagged(t, c, "chef-rogue", "127.0.0.66", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-1", "shard-ish")
	if err := c.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{ID: "web", Name: "web", Port: 80,
		Tags: []string{"stack:prod", "shard:web-1"}}); err != nil {
		t.Fatal(err)
	}
	src := consulSource(t, a)
	var res discovery.ConsulResult
	eventually(t, "five chef-server instances in the catalog", func() (bool, string) {
		var err error
		res, err = src.Discover(t.Context(), 0, 0)
		return err == nil && len(res.Shards)+len(res.Problems) == 5, describe(res.Shards)
	})
	wantShards(t, sortedByName(res.Shards),
		"chef-1 prod http://127.0.0.2:4647 w=- consul passing",
		"chef-2 prod http://127.0.0.3:4647 w=- consul critical",
		// No service address: the node's address, as Consul itself does.
		"chef-d1 dev http://127.0.0.1:4650 w=- consul warning")
	node := a.NodeName()
	wantProblems(t, res.Problems,
		"consul "+node+"/chef-9 (chef-9): no stack configured (tag stack:<stack>); skipped",
		"consul "+node+"/chef-nameless: no shard:<name> tag; skipped")
	if res.Index == 0 {
		t.Fatal("no Consul index to block on")
	}

	for _, p := range res.Problems {
		if strings.Contains(p.Where, "chef-rogue") {
			t.Errorf("an untagged instance reached discovery: %+v", p)
		}
	}

	health, err := src.HealthOf(t.Context(), []string{"chef-1", "chef-2", "chef-9", "chef-404"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]shards.Health{"chef-1": shards.HealthPassing, "chef-2": shards.HealthCritical,
		"chef-9": shards.HealthCritical, "chef-404": shards.HealthUnknown}
	for n, h := range want {
		if health[n] != h {
			t.Errorf("health[%s] = %s, want %s", n, health[n], h)
		}
	}
}

// A blocking query waits at the index and wakes when the service changes.
func TestConsulBlockingQueryWakesOnChange(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	register(t, c, "chef-1", "127.0.0.2", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-1")
	src := consulSource(t, a)
	var first discovery.ConsulResult
	eventually(t, "chef-1 registered", func() (bool, string) {
		var err error
		first, err = src.Discover(t.Context(), 0, 0)
		return err == nil && len(first.Shards) == 1, describe(first.Shards)
	})
	type result struct {
		res  discovery.ConsulResult
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		began := time.Now()
		res, err := src.Discover(t.Context(), first.Index, time.Minute)
		done <- result{res, err, time.Since(began)}
	}()
	select {
	case r := <-done:
		t.Fatalf("blocking query returned before any change: %+v", r)
	case <-time.After(500 * time.Millisecond):
	}
	if err := c.Agent().UpdateTTL("check-chef-1", "down", consulapi.HealthCritical); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.res.Index <= first.Index {
			t.Fatalf("after the change: %+v", r)
		}
		wantShards(t, r.res.Shards, "chef-1 prod http://127.0.0.2:4647 w=- consul critical")
	case <-time.After(20 * time.Second):
		t.Fatal("blocking query did not wake on the change")
	}
}

// Route53 down at start and no cache: the topology is Consul's.
func TestTopologyUsesConsulWhenRoute53DownWithoutCache(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	register(t, c, "chef-1", "127.0.0.2", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-1")
	register(t, c, "chef-2", "127.0.0.3", 4647, consulapi.HealthCritical, "stack:prod", "shard:chef-2")
	src := consulSource(t, a)
	eventually(t, "both registered", func() (bool, string) {
		res, err := src.Discover(t.Context(), 0, 0)
		return err == nil && len(res.Shards) == 2, describe(res.Shards)
	})
	s := stub(t, route53stub.Options{})
	url := s.URL()
	s.Close()

	logger, logs := newLogger()
	topo, err := discovery.NewTopology(discovery.Config{
		Route53: r53Config(url), Consul: &discovery.ConsulConfig{Address: a.Addr(), ShardScheme: "http", Trust: loopbackTrust},
		CacheFile: t.TempDir() + "/shards.json",
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	snap := topo.Snapshot()
	wantShards(t, snap.Shards("prod"),
		"chef-1 prod http://127.0.0.2:4647 w=- consul passing",
		"chef-2 prod http://127.0.0.3:4647 w=- consul critical")
	states := map[shards.Source]string{}
	for _, st := range snap.Status().Sources {
		states[st.Source] = st.State
	}
	if states[shards.SourceRoute53] != "failed" || states[shards.SourceConsul] != "ok" {
		t.Fatalf("source states %v", states)
	}
	if !strings.Contains(logs.String(), "nothing known from this source") {
		t.Fatalf("route53 failure not logged:\n%s", logs)
	}
}

// Shards Route53 found take their health from Consul; Route53 wins the URL
// when Consul also knows the shard.
func TestTopologyRoute53ShardsGetConsulHealth(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	register(t, c, "chef-2", "10.9.9.9", 4647, consulapi.HealthCritical, "stack:prod", "shard:chef-2")
	register(t, c, "chef-3", "", 4647, consulapi.HealthWarning, "shard:chef-3") // no stack: only health is usable
	register(t, c, "chef-4", "127.0.0.5", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-4")
	src := consulSource(t, a)
	eventually(t, "registered", func() (bool, string) {
		res, err := src.Discover(t.Context(), 0, 0)
		return err == nil && len(res.Shards) == 2 && len(res.Problems) == 1, describe(res.Shards)
	})
	s := stub(t, route53stub.Options{})
	topo, err := discovery.NewTopology(discovery.Config{
		Route53: r53Config(s.URL()), Consul: &discovery.ConsulConfig{Address: a.Addr(), ShardScheme: "http", Trust: loopbackTrust},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	snap := topo.Snapshot()
	wantShards(t, snap.Shards("all"),
		"chef-1 prod http://127.0.0.2:4647 w=20 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 critical",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 warning",
		"chef-4 prod http://127.0.0.5:4647 w=- consul passing")
	for _, row := range snap.Status().Shards {
		if row.Name == "chef-2" && (len(row.Sources) != 2 || row.Sources[0] != shards.SourceRoute53 || row.Sources[1] != shards.SourceConsul) {
			t.Fatalf("chef-2 sources = %v", row.Sources)
		}
	}
}

// Both sources gone at start with no cache: an error naming both.
func TestTopologyBothSourcesDownNamesBoth(t *testing.T) {
	t.Parallel()
	a, _ := consul(t)
	addr := a.Addr()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	s := stub(t, route53stub.Options{})
	url := s.URL()
	s.Close()
	topo, err := discovery.NewTopology(discovery.Config{
		Route53: r53Config(url), Consul: &discovery.ConsulConfig{Address: addr, Timeout: 2 * time.Second, ShardScheme: "http", Trust: loopbackTrust},
		CacheFile: t.TempDir() + "/shards.json",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = topo.Start(t.Context())
	if err == nil {
		t.Fatal("Start succeeded with no source reachable")
	}
	t.Log(err)
	for _, want := range []string{"no shards known", "route53 zone " + testZone, url, "consul service chef-server at " + addr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// The background refresher follows Consul by blocking query: a new shard
// and a health change appear without any Refresh call.
func TestTopologyFollowsConsulInBackground(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	register(t, c, "chef-1", "127.0.0.2", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-1")
	src := consulSource(t, a)
	eventually(t, "registered", func() (bool, string) {
		res, err := src.Discover(t.Context(), 0, 0)
		return err == nil && len(res.Shards) == 1, describe(res.Shards)
	})
	logger, logs := newLogger()
	topo, err := discovery.NewTopology(discovery.Config{
		Consul: &discovery.ConsulConfig{Address: a.Addr(), ShardScheme: "http", Trust: loopbackTrust}, ConsulWait: time.Minute,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := topo.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	v := topo.Snapshot().Version
	register(t, c, "chef-5", "127.0.0.6", 4647, consulapi.HealthPassing, "stack:prod", "shard:chef-5")
	if err := c.Agent().UpdateTTL("check-chef-1", "", consulapi.HealthCritical); err != nil {
		t.Fatal(err)
	}
	eventually(t, "background refresh", func() (bool, string) {
		got := describe(topo.Snapshot().All)
		return got == "chef-1 prod http://127.0.0.2:4647 w=- consul critical\nchef-5 prod http://127.0.0.6:4647 w=- consul passing", got
	})
	if nv := topo.Snapshot().Version; nv <= v {
		t.Fatalf("version %d did not move past %d", nv, v)
	}
	if l := logs.String(); !strings.Contains(l, "added chef-5") || !strings.Contains(l, "chef-1: health passing -> critical") {
		t.Fatalf("changes not logged:\n%s", l)
	}
	// Close must end the blocking query promptly.
	closed := make(chan struct{})
	go func() { topo.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the blocking query")
	}
}

// Shards found in Consul are reached over https unless shard_scheme says
// http, and only tagged instances count, whatever tag is configured.
func TestConsulShardSchemeAndTag(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	registerTagged(t, c, "chef-1", "127.0.0.2", 4647, consulapi.HealthPassing, "edge", "stack:prod", "shard:chef-1")
	registerTagged(t, c, "chef-2", "127.0.0.3", 4647, consulapi.HealthPassing, discovery.DefaultShardTag, "stack:prod", "shard:chef-2")
	src, err := discovery.NewConsul(discovery.ConsulConfig{Address: a.Addr(), ShardTag: "edge", Trust: loopbackTrust})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "chef-1 alone, over https", func() (bool, string) {
		res, err := src.Discover(t.Context(), 0, 0)
		return err == nil && describe(res.Shards) == "chef-1 prod https://127.0.0.2:4647 w=- consul passing", describe(res.Shards)
	})
	if _, err := discovery.NewConsul(discovery.ConsulConfig{Address: a.Addr(), ShardScheme: "ftp"}); err == nil {
		t.Fatal("shard_scheme ftp accepted")
	}
}
