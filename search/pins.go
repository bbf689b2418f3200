package search

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
	"github.com/shearch/shearch/shards"
)

// Pins reads every environment of every shard of a stack and lays out
// their cookbook version constraints: per cookbook and environment, the
// constraint each shard holds and the one a read through Shearch returns
// (the environment copy most shards agree on). Pins that differ between
// shards are the drift that bites when an upload reached some shards and
// not others.
func (e *Engine) Pins(ctx context.Context, stack string, deny bool) (*result.PinMatrix, error) {
	targets, err := e.Targets(stack, nil)
	if err != nil {
		return nil, err
	}
	answers := e.fanRows(ctx, targets, func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
		return c.Search(ctx, "environment", "*:*", nil)
	})
	summary, err := settle(ctx, answers, deny)
	if err != nil {
		return nil, err
	}
	// shard -> environment -> cookbook -> constraint
	perShard := map[string]map[string]map[string]string{}
	var okShards []string
	for _, a := range answers {
		if a.Err != nil {
			continue
		}
		okShards = append(okShards, a.Shard.Name)
		envs := map[string]map[string]string{}
		for _, r := range a.Value {
			envs[r.Name] = constraintsOf(Row{Data: r.Data}.Object())
		}
		perShard[a.Shard.Name] = envs
	}
	sort.Strings(okShards)
	rows, _ := merge("environment", answers)
	out := &result.PinMatrix{Stack: e.Stack(stack), Shards: okShards, Pins: []result.Pin{}, Disagreements: []result.Pin{},
		Environments: []string{}, Cookbooks: []string{}, ShardsSummary: summary}
	books := map[string]bool{}
	for _, r := range rows {
		if r.Name == "_default" {
			continue
		}
		out.Environments = append(out.Environments, r.Name)
		merged := constraintsOf(r.Object())
		names := map[string]bool{}
		for cb := range merged {
			names[cb] = true
		}
		for _, sh := range okShards {
			for cb := range perShard[sh][r.Name] {
				names[cb] = true
			}
		}
		for cb := range names {
			books[cb] = true
			p := result.Pin{Cookbook: cb, Environment: r.Name, Merged: merged[cb], ByShard: map[string]string{}}
			first, seen := "", false
			for _, sh := range okShards {
				env, ok := perShard[sh][r.Name]
				if !ok {
					continue
				}
				p.ByShard[sh] = env[cb]
				if seen && env[cb] != first {
					p.Disagree = true
				}
				first, seen = env[cb], true
			}
			out.Pins = append(out.Pins, p)
		}
	}
	for cb := range books {
		out.Cookbooks = append(out.Cookbooks, cb)
	}
	sort.Strings(out.Cookbooks)
	sort.Slice(out.Pins, func(i, j int) bool {
		a, b := out.Pins[i], out.Pins[j]
		return a.Cookbook < b.Cookbook || a.Cookbook == b.Cookbook && a.Environment < b.Environment
	})
	for _, p := range out.Pins {
		if p.Disagree {
			out.Disagreements = append(out.Disagreements, p)
		}
	}
	return out, nil
}

func constraintsOf(env map[string]any) map[string]string {
	out := map[string]string{}
	cv, _ := env["cookbook_versions"].(map[string]any)
	for k, v := range cv {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// CookbookList is every cookbook of a stack with its versions, newest
// first, merged over the shards: a version on any shard is listed once.
type CookbookList struct {
	Versions map[string][]string
	Shards   ShardsSummary
}

// Cookbooks lists the cookbooks of every shard of a stack, each with at
// most num versions (0 for all), for Chef's GET /cookbooks and
// /cookbooks/{name}.
func (e *Engine) Cookbooks(ctx context.Context, stack string, num int, deny bool) (*CookbookList, error) {
	targets, err := e.Targets(stack, nil)
	if err != nil {
		return nil, err
	}
	answers := e.fanRows(ctx, targets, func(ctx context.Context, c *shards.Client) ([]shards.Row, error) {
		var books map[string]struct {
			Versions []struct {
				Version string `json:"version"`
			} `json:"versions"`
		}
		if err := c.GetJSON(ctx, shards.CookbookVersionsPath(), &books); err != nil {
			return nil, err
		}
		rows := make([]shards.Row, 0, len(books))
		for name, b := range books {
			vs := make([]string, len(b.Versions))
			for i, v := range b.Versions {
				vs[i] = v.Version
			}
			data, _ := json.Marshal(vs)
			rows = append(rows, shards.Row{Name: name, Data: data})
		}
		return rows, nil
	})
	summary, err := settle(ctx, answers, deny)
	if err != nil {
		return nil, err
	}
	sets := map[string]map[string]bool{}
	for _, a := range answers {
		for _, r := range a.Value {
			var vs []string
			if json.Unmarshal(r.Data, &vs) != nil {
				continue
			}
			if sets[r.Name] == nil {
				sets[r.Name] = map[string]bool{}
			}
			for _, v := range vs {
				sets[r.Name][v] = true
			}
		}
	}
	out := &CookbookList{Versions: map[string][]string{}, Shards: summary}
	for name, set := range sets {
		vs := make([]string, 0, len(set))
		for v := range set {
			vs = append(vs, v)
		}
		sort.Slice(vs, func(i, j int) bool { return versionLess(vs[j], vs[i]) })
		if num > 0 && len(vs) > num {
			vs = vs[:num]
		}
		out.Versions[name] = vs
	}
	return out, nil
}

// versionLess compares Chef versions (MAJOR.MINOR[.PATCH]) numerically.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return a < b
}

// errNoCookbook is Chef's 404 for an unknown cookbook.
func errNoCookbook(name string) error {
	return fault.Errorf(fault.NotFound, "Cannot find a cookbook named %s", name)
}

// Cookbook is one cookbook's versions over the stack; a 404 when no shard
// has it.
func (e *Engine) Cookbook(ctx context.Context, stack, name string, num int, deny bool) ([]string, ShardsSummary, error) {
	all, err := e.Cookbooks(ctx, stack, num, deny)
	if err != nil {
		return nil, ShardsSummary{}, err
	}
	vs, ok := all.Versions[name]
	if !ok {
		return nil, all.Shards, errNoCookbook(name)
	}
	return vs, all.Shards, nil
}
