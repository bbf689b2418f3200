package drift

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/shards"
)

// PlanRepair compares the shards of a stack as api.Consistency does and
// says what a repair would change. Shards that fail are left out, as
// api.Consistency leaves them out.
func (c *Checker) PlanRepair(ctx context.Context, stack string) (*api.RepairPlan, error) {
	plan, _, err := c.planRepair(ctx, stack)
	return plan, err
}

// actionKey names an action's object: kind and name.
type actionKey [2]string

// planRepair is PlanRepair with the majority copy each action writes,
// which never travels in the plan.
func (c *Checker) planRepair(ctx context.Context, stack string) (*api.RepairPlan, map[actionKey]map[string]any, error) {
	targets, err := c.writer.WriteTargets(stack)
	if err != nil {
		return nil, nil, err
	}
	drifts, _, summary, err := c.compareShards(ctx, targets)
	if err != nil {
		return nil, nil, err
	}
	objects := map[actionKey]map[string]any{}
	plan := &api.RepairPlan{Stack: c.shards.Stack(stack), Actions: []api.RepairAction{}, Unrepairable: []api.Drift{}, Shards: summary}
	// Anyone who can register a service in Consul could add copies: a
	// shard known only from Consul is repaired but never votes.
	voters := map[string]bool{}
	for _, t := range targets {
		voters[t.Name] = t.Source != shards.SourceConsul
	}
	for _, d := range drifts {
		if d.Kind == "cookbook_version" {
			plan.Unrepairable = append(plan.Unrepairable, d.Drift)
			continue
		}
		a, obj, ok := planAction(d.Drift, d.copies, voters)
		if !ok {
			plan.Unrepairable = append(plan.Unrepairable, d.Drift)
			continue
		}
		plan.Actions = append(plan.Actions, a)
		if obj != nil {
			objects[actionKey{a.Kind, a.Name}] = obj
		}
	}
	sort.Slice(plan.Actions, func(i, j int) bool {
		a, b := plan.Actions[i], plan.Actions[j]
		return a.Kind < b.Kind || a.Kind == b.Kind && a.Name < b.Name
	})
	sort.Slice(plan.Unrepairable, func(i, j int) bool { return plan.Unrepairable[i].Name < plan.Unrepairable[j].Name })
	return plan, objects, nil
}

// planAction picks the majority among the voting shards, with the copy
// it writes (nil for a delete); ok is false when no voting shard holds or
// lacks the object (only shards known from Consul alone differ about it).
func planAction(d api.Drift, copies []objCopy, voters map[string]bool) (a api.RepairAction, obj map[string]any, ok bool) {
	a = api.RepairAction{Kind: d.Kind, Name: d.Name}
	votes := func(names []string) int {
		n := 0
		for _, s := range names {
			if voters[s] {
				n++
			}
		}
		return n
	}
	top, topVotes := -1, 0
	for i, v := range d.Versions {
		if n := votes(v.Shards); n > topVotes {
			top, topVotes = i, n
		}
	}
	missing := votes(d.Missing)
	if top < 0 && missing == 0 {
		return a, nil, false
	}
	if missing > topVotes {
		for _, v := range d.Versions {
			a.Delete = append(a.Delete, v.Shards...)
		}
		sort.Strings(a.Delete)
		return a, nil, true
	}
	a.Hash = d.Versions[top].Hash
	for _, s := range d.Versions[top].Shards {
		if voters[s] {
			a.From = s
			break
		}
	}
	for _, c := range copies {
		if c.Shard == a.From {
			obj = c.Data
		}
	}
	for i, v := range d.Versions {
		if i != top {
			a.Update = append(a.Update, v.Shards...)
		}
	}
	a.Create = append(a.Create, d.Missing...)
	sort.Strings(a.Update)
	sort.Strings(a.Create)
	return a, obj, true
}

// refOf turns a drift kind and name back into the object it names.
func refOf(kind, name string) (writes.ObjectRef, error) {
	switch kind {
	case writes.KindRole, writes.KindEnvironment:
		return writes.ObjectRef{Kind: kind, Name: name}, nil
	case writes.KindDataBagItem:
		bag, item, ok := strings.Cut(name, "/")
		if ok {
			return writes.ObjectRef{Kind: kind, Name: bag, Item: item}, nil
		}
	}
	return writes.ObjectRef{}, fmt.Errorf("cannot repair %s %s", kind, name)
}

func sameAction(a, b api.RepairAction) bool {
	return reflect.DeepEqual(a, b)
}

// Repair applies a plan. With want empty it applies the plan it makes
// now; otherwise only the actions of want that the shards still call for
// unchanged, so what was shown to a person is exactly what is done.
func (c *Checker) Repair(ctx context.Context, stack string, want []api.RepairAction) (*api.RepairReport, error) {
	plan, objects, err := c.planRepair(ctx, stack)
	if err != nil {
		return nil, err
	}
	targets, err := c.writer.WriteTargets(stack)
	if err != nil {
		return nil, err
	}
	byName := map[string]shards.Shard{}
	for _, t := range targets {
		byName[t.Name] = t
	}
	rep := &api.RepairReport{Stack: plan.Stack, Applied: []api.RepairDone{}, Skipped: []api.RepairSkip{}}
	todo := plan.Actions
	if len(want) > 0 {
		todo = nil
		// By kind and name, so a long action list costs one comparison
		// an action, not one per planned action; and each planned action
		// is applied once however often the list repeats it (a list of the
		// same action over and over must not multiply writes to shards).
		planned := make(map[[2]string]*api.RepairAction, len(plan.Actions))
		for i := range plan.Actions {
			a := &plan.Actions[i]
			planned[[2]string{a.Kind, a.Name}] = a
		}
		taken := map[[2]string]bool{}
		for _, w := range want {
			key := [2]string{w.Kind, w.Name}
			a, found := planned[key]
			switch {
			case taken[key]:
				rep.Skipped = append(rep.Skipped, api.RepairSkip{RepairAction: w, Reason: "listed twice: applied once"})
			case found && sameAction(*a, w):
				todo = append(todo, *a)
				taken[key] = true
			default:
				rep.Skipped = append(rep.Skipped, api.RepairSkip{RepairAction: w, Reason: "the shards changed since the plan was made: run the repair again"})
			}
		}
	}
	for _, a := range todo {
		ref, err := refOf(a.Kind, a.Name)
		if err != nil {
			rep.Skipped = append(rep.Skipped, api.RepairSkip{RepairAction: a, Reason: err.Error()})
			continue
		}
		ch := writes.Change{Update: a.Update, Create: a.Create, Delete: a.Delete}
		done := api.RepairDone{RepairAction: a, Outcomes: c.writer.Apply(ctx, ref, ch, objects[actionKey{a.Kind, a.Name}], byName)}
		for _, o := range done.Outcomes {
			if !o.Done() {
				rep.Failed++
				break
			}
		}
		rep.Applied = append(rep.Applied, done)
	}
	// Even a repair that applied nothing read the shards afresh: a
	// report from before it is not served after it.
	c.Forget()
	return rep, nil
}
