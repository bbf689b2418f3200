package fallback_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/consulagent"
	"github.com/shearch/shearch/internal/fallback"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
)

// fleet is three real goiardi shards holding the fixture, a real consul
// dev agent knowing every node the way the nodes' own agents would
// register them, and an engine falling back on that agent.
type fleet struct {
	cluster *devfleet.Cluster
	agent   *consulagent.Agent
	consul  *consulapi.Client
	engine  *search.Engine
}

// startFleet gives each test its own fleet: the tests stop parts of it.
func startFleet(t *testing.T) *fleet {
	t.Helper()
	integration.Needs(t, "consul and goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		f.agent, err = consulagent.Start(gctx, consulagent.Options{})
		return err
	})
	g.Go(func() (err error) {
		f.cluster, err = devfleet.StartCluster(gctx, "chef", "prod", 3, fx)
		return err
	})
	err = g.Wait()
	t.Cleanup(func() {
		if f.agent != nil {
			f.agent.Stop()
		}
		if f.cluster != nil {
			f.cluster.Stop()
		}
	})
	if err != nil {
		t.Fatalf("starting the fleet: %v", err)
	}
	if f.consul, err = consulapi.NewClient(&consulapi.Config{Address: f.agent.Addr()}); err != nil {
		t.Fatal(err)
	}
	for i, s := range f.cluster.Shards {
		if err := devfleet.RegisterNodes(ctx, f.consul, s.Name, f.cluster.Parts[i].Nodes); err != nil {
			t.Fatal(err)
		}
	}
	fb, err := fallback.New(fallback.Config{Address: f.agent.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	f.engine = search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second, CheckQueries: true}, search.Deps{Topology: search.StaticShards(f.cluster.ShardList()), Fallback: fb})
	return f
}

func (f *fleet) search(t *testing.T, req search.Request) *search.Result {
	t.Helper()
	req.Index = "node"
	res, err := f.engine.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("search %q: %v", req.Query, err)
	}
	return res
}

func names(rows []search.Row) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Name)
	}
	return out
}

// on keeps the rows of one shard (or, with not, of every other shard).
func on(rows []search.Row, shard string, not bool) []search.Row {
	var out []search.Row
	for _, r := range rows {
		if (r.Shard == shard) != not {
			out = append(out, r)
		}
	}
	return out
}

func status(t *testing.T, res *search.Result, shard string) search.ShardStatus {
	t.Helper()
	for _, d := range res.Shards.Details {
		if d.Name == shard {
			return d
		}
	}
	t.Fatalf("no status for %s in %+v", shard, res.Shards)
	return search.ShardStatus{}
}

var fallbackQueries = []string{"role:web", "chef_environment:prod", "tags:foo", "name:web*", "*:*"}

// With chef-2 down, its nodes come back from Consul: the same names as
// with every shard up, marked as coming from Consul, the shard marked
// fallback; partial=deny still refuses; fields Consul cannot know are
// named; partial search works; and the cache follows the catalog.
func TestDeadShardAnsweredFromConsul(t *testing.T) {
	t.Parallel()
	f := startFleet(t)
	dead := f.cluster.Shards[1].Name
	partial := map[string][]string{"ip": {"ipaddress"}, "name": {"name"}, "env": {"chef_environment"}, "none": {"no", "such"}}

	before := map[string]*search.Result{}
	for _, q := range append(fallbackQueries, "kernel_release:5*", "role:web OR kernel_release:5*") {
		before[q] = f.search(t, search.Request{Query: q})
	}
	partialBefore := f.search(t, search.Request{Query: "*:*", Partial: partial})
	if n := len(on(before["*:*"].Rows, dead, false)); n == 0 {
		t.Fatalf("the fixture puts no node on %s: the test would prove nothing", dead)
	}

	f.cluster.Shards[1].Stop()

	t.Run("same names", func(t *testing.T) {
		for _, q := range fallbackQueries {
			res := f.search(t, search.Request{Query: q})
			if got, want := names(res.Rows), names(before[q].Rows); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %v, want %v", q, got, want)
			}
			fromConsul := 0
			for _, r := range res.Rows {
				want := search.SourceChef
				if r.Shard == dead {
					want = search.SourceConsul
					fromConsul++
				}
				if r.Source != want {
					t.Errorf("%s: row %s of %s has source %q, want %q", q, r.Name, r.Shard, r.Source, want)
				}
			}
			st := status(t, res, dead)
			if st.Status != search.StatusFallback || st.FallbackRows != fromConsul || st.Error == "" || len(st.Unchecked) > 0 {
				t.Errorf("%s: status of %s = %+v, want fallback with %d rows, the Chef error and nothing unchecked", q, dead, st, fromConsul)
			}
		}
	})

	t.Run("paged", func(t *testing.T) {
		// Small pages take the names-first path; Consul rows have no Chef
		// object to fetch and must come through as they are.
		var got []string
		for start := 0; ; start += 5 {
			res := f.search(t, search.Request{Query: "*:*", Start: start, Rows: 5})
			for _, r := range res.Rows {
				if r.Object()["name"] != r.Name {
					t.Errorf("row %s (%s) has no object: %v", r.Name, r.Source, r.Data)
				}
			}
			got = append(got, names(res.Rows)...)
			if len(res.Rows) < 5 {
				break
			}
		}
		if want := names(before["*:*"].Rows); !reflect.DeepEqual(got, want) {
			t.Errorf("pages: got %v, want %v", got, want)
		}
	})

	t.Run("deny", func(t *testing.T) {
		_, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "role:web", PartialDeny: true})
		var se *fault.Error
		if !errors.As(err, &se) || se.Kind != fault.ShardsFailed || !strings.Contains(se.Message, dead) {
			t.Fatalf("partial=deny: got %v, want a 502 naming %s", err, dead)
		}
	})

	t.Run("unknown field", func(t *testing.T) {
		// Consul holds no kernel: chef-2's nodes can be neither returned
		// nor ruled out, and the answer says so.
		res := f.search(t, search.Request{Query: "kernel_release:5*"})
		want := names(on(before["kernel_release:5*"].Rows, dead, true))
		if got := names(res.Rows); !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want the other shards' rows %v", got, want)
		}
		st := status(t, res, dead)
		if st.Status != search.StatusFallback || !reflect.DeepEqual(st.Unchecked, []string{"kernel_release"}) || st.FallbackRows != 0 {
			t.Errorf("status of %s = %+v, want fallback, 0 rows, kernel_release unchecked", dead, st)
		}

		// A row the known fields settle is returned all the same.
		res = f.search(t, search.Request{Query: "role:web OR kernel_release:5*"})
		var wantRows []string
		for _, r := range before["role:web OR kernel_release:5*"].Rows {
			if r.Shard != dead || hasRole(r, "web") {
				wantRows = append(wantRows, r.Name)
			}
		}
		if got := names(res.Rows); !reflect.DeepEqual(got, wantRows) {
			t.Errorf("role:web OR kernel_release:5*: got %v, want %v", got, wantRows)
		}
		if st := status(t, res, dead); !reflect.DeepEqual(st.Unchecked, []string{"kernel_release"}) {
			t.Errorf("role:web OR kernel_release:5*: unchecked %v, want [kernel_release]", st.Unchecked)
		}
	})

	t.Run("partial search", func(t *testing.T) {
		res := f.search(t, search.Request{Query: "*:*", Partial: partial})
		if got, want := names(res.Rows), names(partialBefore.Rows); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i, r := range res.Rows {
			if r.Shard != dead {
				continue
			}
			if r.Source != search.SourceConsul {
				t.Errorf("row %s: source %q, want consul", r.Name, r.Source)
			}
			if want := partialBefore.Rows[i].Object(); !reflect.DeepEqual(r.Object(), want) {
				t.Errorf("row %s: Consul gave %v, Chef gave %v", r.Name, r.Data, want)
			}
		}
	})

	t.Run("cached", func(t *testing.T) {
		// Count what reaches Consul: repeated queries for a dead shard are
		// served from the cache, not by reading the catalog each time.
		var mu sync.Mutex
		var reads []string
		target, _ := url.Parse(f.agent.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ErrorLog = log.New(io.Discard, "", 0) // closing cancels a blocking query: not news
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !r.URL.Query().Has("index") {
				mu.Lock()
				reads = append(reads, r.URL.RequestURI())
				mu.Unlock()
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		fb, err := fallback.New(fallback.Config{Address: srv.URL, CacheSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Closed before the proxy: its blocking query would hold it open.
		t.Cleanup(func() { fb.Close() })
		eng := search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second}, search.Deps{Topology: f.engine.Topology, Fallback: fb})
		for range 20 {
			if _, err := eng.Search(context.Background(), search.Request{Index: "node", Query: "role:web AND chef_environment:prod"}); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(reads) != 1 {
			t.Fatalf("20 queries made %d catalog reads, want 1: %v", len(reads), reads)
		}
		// The filter went to Consul, not the whole shard's catalog.
		for _, p := range []string{"node-meta=chef_shard%3A" + dead, "node-meta=chef_environment%3Aprod", "tag=role%3Aweb", "stale"} {
			if !strings.Contains(reads[0], p) {
				t.Errorf("catalog read %s lacks %s", reads[0], p)
			}
		}
	})

	t.Run("catalog change is seen", func(t *testing.T) {
		// The cached answer is followed by a blocking query: a node that
		// joins chef-2 in Consul shows up without waiting for a timeout.
		node := devfleet.Object{"name": "late-01.prod.example.com", "chef_environment": "prod",
			"automatic": map[string]any{"ipaddress": "127.0.0.99", "roles": []any{"web"}}}
		if err := devfleet.RegisterNodes(context.Background(), f.consul, dead, []devfleet.Object{node}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			res := f.search(t, search.Request{Query: "role:web"})
			if slices.Contains(names(res.Rows), "late-01.prod.example.com") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("late-01 never appeared: %v", names(res.Rows))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// With chef-2 and Consul both down, the answer still holds the live
// shards' rows and chef-2's status names both failures.
func TestConsulDownToo(t *testing.T) {
	t.Parallel()
	f := startFleet(t)
	dead := f.cluster.Shards[1].Name
	before := f.search(t, search.Request{Query: "role:web"})
	f.cluster.Shards[1].Stop()
	// Warm the cache first: what it holds must not hide Consul's death.
	if st := status(t, f.search(t, search.Request{Query: "role:web"}), dead); st.Status != search.StatusFallback {
		t.Fatalf("with Consul up, %s should fall back: %+v", dead, st)
	}
	if err := f.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	// The cached answer's blocking query notices the agent's exit as its
	// connection drops; until then the cached answer is still served.
	var res *search.Result
	var st search.ShardStatus
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res = f.search(t, search.Request{Query: "role:web"})
		if st = status(t, res, dead); st.Status == search.StatusFailed || time.Now().After(deadline) {
			break
		}
	}
	chefErr, consulErr, ok := strings.Cut(st.Error, "; fallback failed: ")
	if st.Status != search.StatusFailed || !ok || chefErr == "" || !strings.Contains(consulErr, "consul") ||
		!strings.Contains(consulErr, f.agent.Addr()) {
		t.Fatalf("status of %s = %+v, want failed naming the Chef failure and the Consul failure at %s", dead, st, f.agent.Addr())
	}
	if want := names(on(before.Rows, dead, true)); !reflect.DeepEqual(names(res.Rows), want) {
		t.Errorf("rows %v, want the live shards' %v", names(res.Rows), want)
	}
	t.Logf("%s: %s", dead, st.Error)
}

func hasRole(r search.Row, role string) bool {
	roles, _ := r.Object()["automatic"].(map[string]any)["roles"].([]any)
	return slices.Contains(roles, any(role))
}
