// Package drift compares the objects every shard of a stack must agree on
// (roles, environments, data bag items, cookbook versions), keeps the
// report briefly, plans a repair by majority and applies it through
// writes. It must never import net/http, server or search.
package drift

import (
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/flight"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/shards"
)

// Shards is how drift finds a stack's shards and reads them: the read
// engine's own (search.Engine), so a scan shares each shard's bound with
// the searches.
type Shards interface {
	Stack(stack string) string
	Targets(stack string, names []string) ([]shards.Shard, error)
	FanOptions() fanout.Options
	// RequestTimeout bounds a whole scan, run on behalf of every caller
	// that shares it.
	RequestTimeout() time.Duration
}

// Config bounds what drift keeps between requests.
type Config struct {
	// ReportTTL is how long a drift report is served again (0: never;
	// concurrent scans of a stack are shared all the same).
	ReportTTL time.Duration
}

// Checker compares the shards of a stack and repairs what drifted.
// Make it with New.
type Checker struct {
	Config
	shards Shards
	writer *writes.Writer
	scans  scanCache
	shared flight.Group
}

// New makes a checker over the shards of s, repairing through w.
func New(cfg Config, s Shards, w *writes.Writer) *Checker {
	return &Checker{Config: cfg, shards: s, writer: w}
}

// Forget drops every report kept: a write to the shards (a role, a
// repair) must not leave a report from before it to be served again.
func (c *Checker) Forget() { c.scans.clear() }

// scanConsistency reads every shard of the stack and compares (see
// api.Consistency, which shares and caches it).
func (c *Checker) scanConsistency(ctx context.Context, stack string) (*api.Consistency, error) {
	targets, err := c.shards.Targets(stack, nil)
	if err != nil {
		return nil, err
	}
	drifts, checked, summary, err := c.compareShards(ctx, targets)
	if err != nil {
		return nil, err
	}
	rep := &api.Consistency{Stack: c.shards.Stack(stack), Checked: checked, Drift: []api.Drift{}, Shards: summary}
	for _, d := range drifts {
		rep.Drift = append(rep.Drift, d.Drift)
	}
	sort.Slice(rep.Drift, func(i, j int) bool {
		a, b := rep.Drift[i], rep.Drift[j]
		return a.Kind < b.Kind || a.Kind == b.Kind && a.Name < b.Name
	})
	return rep, nil
}

// objectDrift is one object that differs between shards, with every
// shard's copy.
type objectDrift struct {
	api.Drift
	copies []objCopy
}

// compareShards reads every target's roles, environments, data bag items
// and cookbook versions and returns the objects that differ. A failed
// shard is left out of the comparison (its objects are not "missing");
// every shard failing is an error.
func (c *Checker) compareShards(ctx context.Context, targets []shards.Shard) (drifts []objectDrift, checked int, summary api.ShardSummary, err error) {
	// Each answer's value maps "kind\x00name" to that shard's object.
	answers := fanout.Do(ctx, targets, inventory, c.shards.FanOptions())
	summary = fanout.Summarize(answers)
	if err := fanout.CheckFailures(summary, false); err != nil {
		return nil, 0, summary, err
	}
	keys := map[string]bool{}
	for _, a := range answers {
		if a.Err == nil {
			for k := range a.Value {
				keys[k] = true
			}
		}
	}
	for k := range keys {
		var copies []objCopy
		var missing []string
		for _, a := range answers {
			if a.Err != nil {
				continue
			}
			if obj, ok := a.Value[k]; ok {
				copies = append(copies, objCopy{Shard: a.Shard.Name, Data: obj})
			} else {
				missing = append(missing, a.Shard.Name)
			}
		}
		if d, differs := compare(copies, missing); differs {
			d.Kind, d.Name = splitKey(k)
			drifts = append(drifts, objectDrift{Drift: d, copies: copies})
		}
	}
	return drifts, len(keys), summary, nil
}

// objCopy is one shard's copy of an object, decoded to compare keys.
type objCopy struct {
	Shard string
	Data  map[string]any
}

func splitKey(k string) (kind, name string) {
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// compare groups copies by content; the most common copy (first shard on
// a tie) is the reference the others' differing keys are named against.
func compare(copies []objCopy, missing []string) (api.Drift, bool) {
	d := api.Drift{Missing: missing}
	if missing == nil {
		d.Missing = []string{}
	}
	byHash := map[string]*api.DriftVersion{}
	var ref map[string]any
	var order []string
	for _, c := range copies {
		sum := shards.ContentHash(c.Data)
		h := hex.EncodeToString(sum[:8])
		v, ok := byHash[h]
		if !ok {
			v = &api.DriftVersion{Hash: h, Keys: []string{}}
			byHash[h] = v
			order = append(order, h)
		}
		v.Shards = append(v.Shards, c.Shard)
	}
	sort.SliceStable(order, func(i, j int) bool { return len(byHash[order[i]].Shards) > len(byHash[order[j]].Shards) })
	for _, c := range copies {
		if sum := shards.ContentHash(c.Data); hex.EncodeToString(sum[:8]) == order[0] {
			ref = c.Data
			break
		}
	}
	for _, h := range order {
		v := byHash[h]
		if h != order[0] {
			for _, c := range copies {
				if c.Shard == v.Shards[0] {
					v.Keys = differingKeys(ref, c.Data)
				}
			}
		}
		d.Versions = append(d.Versions, *v)
	}
	return d, len(order) > 1 || len(missing) > 0
}

func differingKeys(a, b map[string]any) []string {
	out := []string{}
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// inventory reads every shared object of one shard: one paged search per
// index (roles, environments, each data bag) and one cookbook listing, so
// its cost grows with pages, not with a request per object.
func inventory(ctx context.Context, c *shards.Client) (map[string]map[string]any, error) {
	var mu sync.Mutex
	out := map[string]map[string]any{}
	add := func(kind, name string, obj map[string]any) {
		mu.Lock()
		out[kind+"\x00"+name] = obj
		mu.Unlock()
	}
	var bags map[string]any
	if err := c.GetJSON(ctx, shards.CollectionPath(shards.DataBags), &bags); err != nil {
		return nil, fmt.Errorf("listing data bags: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	searchAll := func(kind, index string) {
		g.Go(func() error {
			rows, err := c.Search(gctx, index, "*:*", nil)
			if kind == "data_bag_item" && fanout.IsNotFound(err) {
				return nil // the bag went away since it was listed
			}
			if err != nil {
				return err
			}
			for _, r := range rows {
				obj := api.Row{Data: r.Data}.Object()
				if kind != "data_bag_item" {
					add(kind, r.Name, obj)
					continue
				}
				// Chef's search row wraps the item in raw_data; some
				// servers answer the bare item.
				item := obj
				if raw, ok := obj["raw_data"].(map[string]any); ok {
					item = raw
				}
				id, _ := item["id"].(string)
				add(kind, index+"/"+id, item)
			}
			return nil
		})
	}
	searchAll("role", "role")
	searchAll("environment", "environment")
	for bag := range bags {
		searchAll("data_bag_item", bag)
	}
	g.Go(func() error {
		var books map[string]struct {
			Versions []struct {
				Version string `json:"version"`
			} `json:"versions"`
		}
		if err := c.GetJSON(gctx, shards.CookbookVersionsPath(), &books); err != nil {
			return fmt.Errorf("listing cookbooks: %w", err)
		}
		for name, b := range books {
			for _, v := range b.Versions {
				// Presence is what drifts for cookbook versions: a version is
				// immutable once frozen, and uploads are all-or-nothing per shard.
				add("cookbook_version", name+"@"+v.Version, map[string]any{"version": v.Version})
			}
		}
		return nil
	})
	return out, g.Wait()
}
