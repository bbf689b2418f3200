package search_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search"
)

// These tests run the engine against fake in-process shards: each takes
// milliseconds, and asserts on names, shards and request counts only, so
// they hold whatever Go type a row's data has.

type fleet struct {
	shards []*fakeshard.Shard
	engine *search.Engine
}

// node is a small node; ohai is its automatic.ohai_time.
func node(name, env, role, ohai string) devfleet.Object {
	return devfleet.Object{
		"name": name, "chef_environment": env, "json_class": "Chef::Node", "chef_type": "node",
		"run_list": []any{"role[" + role + "]"}, "normal": map[string]any{}, "default": map[string]any{}, "override": map[string]any{},
		"automatic": map[string]any{"ipaddress": "10.0.0." + fmt.Sprint(len(name)), "roles": []any{role}, "ohai_time": json.Number(ohai)},
	}
}

// startFleet serves one fake shard per node list, named s0, s1, ...
func startFleet(t *testing.T, pageSize int, perShard ...[]devfleet.Object) *fleet {
	t.Helper()
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{}
	var list search.StaticShards
	for i, nodes := range perShard {
		s, err := fakeshard.FromFixture(&devfleet.Fixture{Nodes: nodes, Roles: []devfleet.Object{{"name": "web", "json_class": "Chef::Role", "chef_type": "role"}}}, fakeshard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Close)
		f.shards = append(f.shards, s)
		list = append(list, s.Config(fmt.Sprintf("s%d", i), "prod", key))
	}
	f.engine = search.MustNew(search.Config{DefaultStack: "prod", PageSize: pageSize, CheckQueries: true}, search.Deps{Topology: list})
	return f
}

// warm runs one query so that what the engine keeps between requests
// (the map of nodes held twice) is made before requests are counted.
func (f *fleet) warm(t *testing.T) {
	t.Helper()
	if _, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "name:warm-up", Partial: map[string][]string{}}); err != nil {
		t.Fatal(err)
	}
}

func (f *fleet) resetStats() {
	for _, s := range f.shards {
		s.ResetStats()
	}
}

// spread puts n nodes named node-000.. round-robin on count shards, so
// every page of the global order crosses shard boundaries.
func spread(n, count int) ([][]devfleet.Object, []string) {
	per := make([][]devfleet.Object, count)
	var names []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("node-%04d", i)
		names = append(names, name)
		per[i%count] = append(per[i%count], node(name, "prod", []string{"web", "db"}[i%2], fmt.Sprint(1000+i)))
	}
	return per, names
}

func rowNames(rows []search.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Name
	}
	return out
}

// data decodes a row's data whatever its Go type.
func data(t *testing.T, r search.Row) map[string]any {
	t.Helper()
	b, err := json.Marshal(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMergeOrderAndPaging(t *testing.T) {
	per, names := spread(53, 3)
	f := startFleet(t, 10, per...) // shard pages of 10: every shard answers in several pages
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		start, rows int
		partial     map[string][]string
	}{
		{"whole answer", 0, 0, nil},
		{"first page", 0, 7, nil},
		{"page across shards", 7, 7, nil},
		{"page across shard pages", 18, 5, nil},
		{"last short page", 49, 7, nil},
		{"past the end", 60, 7, nil},
		{"partial whole answer", 0, 0, map[string][]string{"ip": {"ipaddress"}}},
		{"partial page", 21, 9, map[string][]string{"ip": {"ipaddress"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.engine.Search(ctx, search.Request{Index: "node", Query: "*:*", Start: tc.start, Rows: tc.rows, Partial: tc.partial})
			if err != nil {
				t.Fatal(err)
			}
			n := tc.rows
			if n == 0 {
				n = 1000
			}
			want := names[min(tc.start, len(names)):min(tc.start+n, len(names))]
			if got := rowNames(res.Rows); !slices.Equal(got, want) {
				t.Fatalf("rows %v, want %v", got, want)
			}
			if res.Total != len(names) || res.Shards.OK != 3 || res.Shards.Failed != 0 {
				t.Fatalf("total %d, shards %+v", res.Total, res.Shards)
			}
			for _, r := range res.Rows {
				d := data(t, r)
				if tc.partial != nil && d["ip"] == nil || tc.partial == nil && d["automatic"] == nil {
					t.Fatalf("row %s has data %v", r.Name, d)
				}
				if wantShard := fmt.Sprintf("s%d", slices.Index(names, r.Name)%3); r.Shard != wantShard {
					t.Fatalf("row %s from %s, want %s", r.Name, r.Shard, wantShard)
				}
			}
		})
	}
}

func TestCursorWalkAndStream(t *testing.T) {
	per, names := spread(41, 4)
	f := startFleet(t, 8, per...)
	ctx := context.Background()

	var walked []string
	req := search.Request{Index: "node", Query: "*:*", Rows: 6}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("the cursor walk does not end")
		}
		res, err := f.engine.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, rowNames(res.Rows)...)
		if res.NextCursor == "" {
			break
		}
		req.Cursor = res.NextCursor
	}
	if !slices.Equal(walked, names) {
		t.Fatalf("cursor walk gave %v", walked)
	}

	for _, partial := range []map[string][]string{nil, {"name": {"name"}, "ip": {"ipaddress"}}} {
		var streamed []string
		res, err := f.engine.Stream(ctx, search.Request{Index: "node", Query: "*:*", Partial: partial}, nil, func(r search.Row) error {
			if d := data(t, r); partial == nil && d["automatic"] == nil || partial != nil && d["name"] != r.Name {
				return fmt.Errorf("row %s has data %v", r.Name, d)
			}
			streamed = append(streamed, r.Name)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(streamed, names) || res.Total != len(names) {
			t.Fatalf("stream (partial %v) gave %d rows, total %d", partial != nil, len(streamed), res.Total)
		}
	}
}

func TestDuplicates(t *testing.T) {
	a := []devfleet.Object{node("both", "prod", "web", "1700000000.5"), node("only-a", "prod", "web", "1"), node("thrice", "prod", "web", "30")}
	b := []devfleet.Object{node("both", "prod", "web", "1700000000.52"), node("only-b", "prod", "web", "1"), node("thrice", "prod", "web", "10")}
	c := []devfleet.Object{node("thrice", "prod", "web", "20")}
	f := startFleet(t, 0, a, b, c)
	for _, tc := range []struct {
		name    string
		req     search.Request
		streams bool
	}{
		{"whole objects", search.Request{Index: "node", Query: "*:*"}, false},
		{"partial", search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}}}, false},
		{"names-first page", search.Request{Index: "node", Query: "*:*", Rows: 2, Start: 1}, false},
		{"stream", search.Request{Index: "node", Query: "role:web"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rows []search.Row
			var res *search.Result
			var err error
			if tc.streams {
				res, err = f.engine.Stream(context.Background(), tc.req, nil, func(r search.Row) error { rows = append(rows, r); return nil })
			} else {
				res, err = f.engine.Search(context.Background(), tc.req)
				if res != nil {
					rows = res.Rows
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			all := []string{"both", "only-a", "only-b", "thrice"}
			want := all[tc.req.Start:]
			if tc.req.Rows > 0 {
				want = want[:tc.req.Rows]
			}
			if got := rowNames(rows); !slices.Equal(got, want) || res.Total != 4 {
				t.Fatalf("rows %v (total %d), want %v", got, res.Total, want)
			}
			kept := map[string]string{"both": "s1", "only-a": "s0", "only-b": "s1", "thrice": "s0"}
			for _, r := range rows {
				if r.Shard != kept[r.Name] {
					t.Errorf("%s kept from %s, want the newest copy on %s", r.Name, r.Shard, kept[r.Name])
				}
			}
			dups := map[string]string{}
			for _, d := range res.Duplicates {
				dups[d.Name] = d.Kept + " over " + strings.Join(d.Stale, ",")
			}
			wantDups := map[string]string{}
			for name, d := range map[string]string{"both": "s1 over s0", "thrice": "s0 over s1,s2"} {
				// A page reports the duplicates among its rows.
				if tc.req.Rows == 0 || slices.Contains(rowNames(rows), name) {
					wantDups[name] = d
				}
			}
			if fmt.Sprint(dups) != fmt.Sprint(wantDups) {
				t.Errorf("duplicates %v, want %v", dups, wantDups)
			}
		})
	}
}

func TestPartialFailure(t *testing.T) {
	per, names := spread(30, 3)
	for _, tc := range []struct {
		name    string
		failure fakeshard.Failure
	}{{"500", fakeshard.Failure{Status: http.StatusInternalServerError}}, {"closed", fakeshard.Failure{Close: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFleet(t, 0, per...)
			f.shards[1].SetFailure(&tc.failure)
			var want []string
			for i, n := range names {
				if i%3 != 1 {
					want = append(want, n)
				}
			}
			for _, req := range []search.Request{
				{Index: "node", Query: "*:*"},
				{Index: "node", Query: "*:*", Rows: 5, Start: 3},
				{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}}},
			} {
				res, err := f.engine.Search(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				w := want[req.Start:]
				if req.Rows > 0 {
					w = w[:req.Rows]
				}
				if got := rowNames(res.Rows); !slices.Equal(got, w) {
					t.Fatalf("rows %v, want %v", got, w)
				}
				if res.Shards.OK != 2 || res.Shards.Failed != 1 || !slices.Equal(res.Shards.FailedNames(), []string{"s1"}) {
					t.Fatalf("shards %+v", res.Shards)
				}
				req.PartialDeny = true
				_, err = f.engine.Search(context.Background(), req)
				var se *fault.Error
				if !errors.As(err, &se) || se.Kind != fault.ShardsFailed || !strings.Contains(se.Message, "s1") {
					t.Fatalf("partial=deny with a failed shard gave %v", err)
				}
			}
			for _, s := range f.shards {
				s.SetFailure(&tc.failure)
			}
			_, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*"})
			var se *fault.Error
			if !errors.As(err, &se) || se.Kind != fault.ShardsFailed {
				t.Fatalf("every shard failed and the answer was %v", err)
			}
		})
	}
}

// A partial-search page and a whole answer of one shard page each need
// one request per shard: no object reads, no second page. (The map of
// nodes held twice is read once and kept; warm makes it.)
func TestOneRoundTrip(t *testing.T) {
	per, names := spread(40, 4)
	f := startFleet(t, 0, per...)
	f.warm(t)
	for _, req := range []search.Request{
		{Index: "node", Query: "role:web", Rows: 20, Partial: map[string][]string{"name": {"name"}, "ip": {"ipaddress"}}},
		{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}}},
		{Index: "role", Query: "*:*"},
	} {
		f.resetStats()
		res, err := f.engine.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if req.Index == "node" && len(res.Rows) != 20 && len(res.Rows) != len(names) {
			t.Fatalf("%s: %d rows", req.Query, len(res.Rows))
		}
		for i, s := range f.shards {
			if st := s.Stats(); st.Requests != 1 || st.Searches != 1 {
				t.Errorf("%s %v: shard s%d got %+v, want one search", req.Index, req.Query, i, st)
			}
		}
	}
}

// A small page of whole nodes from shards holding more than a page reads
// names first and then only the page's objects: the shards never send
// the whole fleet's objects.
func TestNamesFirst(t *testing.T) {
	per, names := spread(2000, 4)
	for _, nodes := range per {
		for _, n := range nodes {
			n["normal"] = map[string]any{"pad": strings.Repeat("x", 2000)} // nodes of ~2 KB
		}
	}
	f := startFleet(t, 100, per...)
	f.warm(t)
	// What the shards send for the whole answer.
	f.resetStats()
	if _, err := f.engine.Search(context.Background(), search.Request{Index: "node", Query: "*:*"}); err != nil {
		t.Fatal(err)
	}
	var fleetBytes int64
	for _, s := range f.shards {
		fleetBytes += s.Stats().Bytes
	}
	ctx := context.Background()
	for _, tc := range []struct{ start, rows int }{{0, 20}, {990, 20}, {1995, 20}} {
		f.resetStats()
		res, err := f.engine.Search(ctx, search.Request{Index: "node", Query: "*:*", Start: tc.start, Rows: tc.rows})
		if err != nil {
			t.Fatal(err)
		}
		want := names[tc.start:min(tc.start+tc.rows, len(names))]
		if got := rowNames(res.Rows); !slices.Equal(got, want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
		for _, r := range res.Rows {
			if d := data(t, r); d["automatic"] == nil || d["name"] != r.Name {
				t.Fatalf("row %s is not the whole node: %v", r.Name, d)
			}
		}
		var sent int64
		for _, s := range f.shards {
			sent += s.Stats().Bytes
		}
		if sent*2 > fleetBytes {
			t.Errorf("a 20-row page at %d made the shards send %d bytes; the whole fleet is %d", tc.start, sent, fleetBytes)
		}
	}
}

func TestUnknownIndexAndBadQuery(t *testing.T) {
	per, _ := spread(6, 2)
	f := startFleet(t, 0, per...)
	for _, tc := range []struct {
		req  search.Request
		kind fault.Kind
	}{
		{search.Request{Index: "nosuchbag", Query: "*:*"}, fault.NotFound},
		{search.Request{Index: "node", Query: "name:(a"}, fault.BadRequest},
		{search.Request{Index: "", Query: "*:*"}, fault.BadRequest},
	} {
		f.resetStats()
		_, err := f.engine.Search(context.Background(), tc.req)
		var se *fault.Error
		if !errors.As(err, &se) || se.Kind != tc.kind {
			t.Errorf("%+v: %v, want %s", tc.req, err, tc.kind)
		}
		if tc.kind == fault.BadRequest && f.shards[0].Stats().Requests != 0 {
			t.Errorf("%+v reached a shard", tc.req)
		}
	}
}
