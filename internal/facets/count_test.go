package facets

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
)

// A request facets cannot answer is refused before the stream starts,
// as one BadRequest whose text says what to send instead.
func TestRefusedRequests(t *testing.T) {
	many := make([]string, MaxAttrs+1)
	for i := range many {
		many[i] = "a"
	}
	q := result.Request{Index: "node", Query: "*:*"}
	for _, tc := range []struct {
		name string
		run  func(Streamer) error
		want string
	}{
		{"no attribute", func(s Streamer) error {
			_, err := Count(context.Background(), s, Config{}, Request{Request: q})
			return err
		},
			"no attribute given: add attr=PATH, as attr=platform or attr=kernel.release"},
		{"too many attributes", func(s Streamer) error {
			_, err := Count(context.Background(), s, Config{}, Request{Request: q, Attrs: many})
			return err
		}, "33 attributes asked: at most 32 per request"},
		{"empty segment", func(s Streamer) error {
			_, err := Count(context.Background(), s, Config{}, Request{Request: q, Attrs: []string{"kernel..release"}})
			return err
		}, `attribute "kernel..release" has an empty segment: write levels with single dots, as kernel.release`},
		{"empty by segment", func(s Streamer) error {
			_, err := Count(context.Background(), s, Config{}, Request{Request: q, Attrs: []string{"platform"}, By: "a."})
			return err
		}, `attribute "a." has an empty segment: write levels with single dots, as kernel.release`},
		{"rollout without want", func(s Streamer) error {
			_, err := Rollout(context.Background(), s, Config{}, RolloutRequest{Request: q, Attr: "platform"})
			return err
		}, "give attr=PATH and want=VALUE, as attr=chef_packages.chef.version&want=17.10.0"},
		{"rollout with an empty group segment", func(s Streamer) error {
			_, err := Rollout(context.Background(), s, Config{}, RolloutRequest{Request: q, Attr: "platform", Want: "x", By: ".env"})
			return err
		}, `attribute ".env" has an empty segment: write levels with single dots, as kernel.release`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeStream{}
			err := tc.run(src)
			if err == nil || err.Error() != tc.want || !fault.Is(err, fault.BadRequest) {
				t.Fatalf("err %v (kind %v), want %q, bad request", err, fault.KindOf(err), tc.want)
			}
			if src.asked.Index != "" {
				t.Fatal("the stream was started for a refused request")
			}
		})
	}
}

// Counting asks the stream for the attributes alone, from the first row,
// and counts overall, by shard (every shard asked, matched or not) and
// by group.
func TestCount(t *testing.T) {
	src := &fakeStream{shards: []string{"s0", "s1", "s2"}, rows: []result.Row{
		partialRow("a", "s0", map[string]any{"platform": "ubuntu", "chef_environment": "prod"}),
		partialRow("b", "s0", map[string]any{"platform": "centos", "chef_environment": "dev"}),
		partialRow("c", "s1", map[string]any{"platform": "ubuntu", "chef_environment": "prod"}),
		partialRow("d", "s1", map[string]any{"chef_environment": "prod"}),
	}}
	req := Request{Request: result.Request{Index: "node", Query: "role:web", Start: 5, Rows: 2, Cursor: "x"}, Attrs: []string{"platform", "platform"}, By: "chef_environment"}
	got, err := Count(context.Background(), src, Config{}, req)
	if err != nil {
		t.Fatal(err)
	}
	wantPartial := map[string][]string{"platform": {"platform"}, "chef_environment": {"chef_environment"}}
	if !reflect.DeepEqual(src.asked.Partial, wantPartial) || src.asked.Start != 0 || src.asked.Rows != 0 || src.asked.Cursor != "" || src.asked.Query != "role:web" {
		t.Fatalf("asked the stream for %+v", src.asked)
	}
	for _, c := range []struct {
		name string
		got  *result.FacetCounts
		want result.FacetCounts
	}{
		{"overall", got.Facets["platform"], result.FacetCounts{Values: map[string]int{"ubuntu": 2, "centos": 1}, Missing: 1}},
		{"s0", got.ByShard["s0"].Facets["platform"], result.FacetCounts{Values: map[string]int{"ubuntu": 1, "centos": 1}}},
		{"s1", got.ByShard["s1"].Facets["platform"], result.FacetCounts{Values: map[string]int{"ubuntu": 1}, Missing: 1}},
		{"s2, no rows", got.ByShard["s2"].Facets["platform"], result.FacetCounts{Values: map[string]int{}}},
		{"prod", got.By["prod"].Facets["platform"], result.FacetCounts{Values: map[string]int{"ubuntu": 2}, Missing: 1}},
		{"dev", got.By["dev"].Facets["platform"], result.FacetCounts{Values: map[string]int{"centos": 1}}},
	} {
		if c.got == nil || !reflect.DeepEqual(*c.got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if got.Total != 4 || len(got.Facets) != 1 || got.ByShard["s2"].Total != 0 || got.By["prod"].Total != 3 || got.Duplicates == nil {
		t.Errorf("total %d, %d facets, s2 total %d, prod total %d, duplicates %v", got.Total, len(got.Facets), got.ByShard["s2"].Total, got.By["prod"].Total, got.Duplicates)
	}
}

// The stream's failure is the answer's, as the engine gave it.
func TestCountStreamFails(t *testing.T) {
	want := fault.Errorf(fault.ShardsFailed, "every shard failed: s0 (down)")
	src := &fakeStream{err: want}
	if _, err := Count(context.Background(), src, Config{}, Request{Request: result.Request{Index: "node"}, Attrs: []string{"platform"}}); !errors.Is(err, want) {
		t.Fatalf("err %v", err)
	}
	if _, err := Rollout(context.Background(), src, Config{}, RolloutRequest{Request: result.Request{Index: "node"}, Attr: "a", Want: "b"}); !errors.Is(err, want) {
		t.Fatalf("rollout err %v", err)
	}
}

// A rollout counts each node once per group: reached, stale (against
// the request's clock and the configured default), and lists the
// lagging within the configured bound.
func TestRollout(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	fresh, old := float64(now.Unix()-60), float64(now.Unix()-7200)
	src := &fakeStream{shards: []string{"s0", "s1", "s2"}, rows: []result.Row{
		partialRow("a", "s0", map[string]any{rolloutAttrKey: "17.10.0", rolloutGroupKey: "prod", "ohai_time": fresh}),
		partialRow("b", "s0", map[string]any{rolloutAttrKey: "16.0.0", rolloutGroupKey: "prod", "ohai_time": old}),
		partialRow("c", "s1", map[string]any{rolloutAttrKey: []any{"17.10.0", "x"}, rolloutGroupKey: "dev", "ohai_time": fresh}),
		partialRow("d", "s1", map[string]any{"ohai_time": fresh}),
	}}
	cfg := Config{Rollout: RolloutConfig{MaxLagging: 1}}
	req := RolloutRequest{Request: result.Request{Index: "node", Query: "*:*"}, Attr: "chef_packages.chef.version", Want: "17.10.0", By: "chef_environment", Lagging: true, Now: now}
	got, err := Rollout(context.Background(), src, cfg, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"chef_packages", "chef", "version"}; !reflect.DeepEqual(src.asked.Partial[rolloutAttrKey], want) {
		t.Fatalf("asked %v", src.asked.Partial)
	}
	groups := map[string][3]int{}
	for _, g := range got.Groups {
		groups[g.Group] = [3]int{g.Total, g.Reached, g.Stale}
	}
	want := map[string][3]int{"prod": {2, 1, 1}, "dev": {1, 1, 0}, result.MissingGroupName: {1, 0, 0}}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("groups (total, reached, stale) %v, want %v", groups, want)
	}
	if got.All.Total != 4 || got.All.Reached != 2 || got.All.Share != 0.5 || got.StaleAfterSeconds != 3600 {
		t.Errorf("all %+v, stale after %d", got.All, got.StaleAfterSeconds)
	}
	if len(got.Lagging) != 1 || !got.LaggingTruncated || got.Lagging[0].Name != "b" || got.Lagging[0].Value != "16.0.0" || !got.Lagging[0].Stale {
		t.Errorf("lagging %+v, truncated %v; want b alone, within max_lagging 1", got.Lagging, got.LaggingTruncated)
	}
	// by=shard: a group per shard asked, one with no node included.
	got, err = Rollout(context.Background(), src, cfg, RolloutRequest{Request: req.Request, Attr: "v", Want: "17.10.0", By: GroupShard, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range got.Groups {
		names = append(names, g.Group)
	}
	if strings.Join(names, ",") != "s0,s1,s2" {
		t.Errorf("groups by shard %v", names)
	}
}
