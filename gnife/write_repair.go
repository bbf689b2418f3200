package gnife

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
)

func repairFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "repair", Usage: "copy the majority version of each differing object to the shards that differ"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "repair without asking"},
	}
}

// describe is one line for a planned action.
func describe(a api.RepairAction) string {
	var parts []string
	if len(a.Update) > 0 {
		parts = append(parts, "update on "+strings.Join(a.Update, ", "))
	}
	if len(a.Create) > 0 {
		parts = append(parts, "create on "+strings.Join(a.Create, ", "))
	}
	if len(a.Delete) > 0 {
		parts = append(parts, "delete from "+strings.Join(a.Delete, ", ")+" (most shards do not have it)")
	}
	from := ""
	if a.From != "" {
		from = fmt.Sprintf(" with %s's copy (%s)", a.From, a.Hash)
	}
	return fmt.Sprintf("%s %s: %s%s", a.Kind, a.Name, strings.Join(parts, "; "), from)
}

// runRepair is `gnife consistency --repair [-y]`: the plan first, then a
// (Y/N) prompt unless -y, then exactly the planned actions; Shearch skips
// any the shards no longer call for.
func runRepair(env *Env, c *cli.Context) error {
	cl, err := env.client()
	if err != nil {
		return err
	}
	plan, err := fleetCall(env, func(ctx context.Context, cl *api.Client) (*api.RepairPlan, error) { return cl.RepairPlan(ctx, "") })
	if err != nil {
		return err
	}
	for _, u := range plan.Unrepairable {
		fmt.Fprintf(env.IO.ErrOut, "WARNING: %s %s differs between shards; a repair cannot copy cookbooks: upload it with knife cookbook upload against each shard\n", u.Kind, u.Name)
	}
	if len(plan.Actions) == 0 {
		fmt.Fprintf(env.IO.Out, "stack %s: nothing to repair\n", plan.Stack)
		return nil
	}
	fmt.Fprintf(env.IO.Out, "stack %s: %d objects to repair\n", plan.Stack, len(plan.Actions))
	for _, a := range plan.Actions {
		fmt.Fprintf(env.IO.Out, "  %s\n", describe(a))
	}
	w := &writer{env: env, cl: cl, c: c, cmd: "consistency"}
	if err := w.confirm(fmt.Sprintf("Do you really want to repair %d objects", len(plan.Actions))); err != nil {
		return err
	}
	rep, err := cl.Repair(env.ctx(), plan.Actions)
	var pe *api.PartialError
	if err != nil && !errors.As(err, &pe) {
		var ae *api.Error
		if errors.As(err, &ae) {
			return w.httpError(ae)
		}
		return err
	}
	for _, a := range rep.Applied {
		var bad []string
		for _, o := range a.Outcomes {
			if o.Status == api.WriteFailed || o.Status == api.WriteRefused {
				bad = append(bad, fmt.Sprintf("%s (%s)", o.Name, o.Error))
			}
		}
		if len(bad) > 0 {
			fmt.Fprintf(env.IO.ErrOut, "ERROR: %s %s not repaired on %s\n", a.Kind, a.Name, strings.Join(bad, ", "))
		} else {
			fmt.Fprintf(env.IO.Out, "Repaired %s %s\n", a.Kind, a.Name)
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(env.IO.ErrOut, "WARNING: skipped %s %s: %s\n", s.Kind, s.Name, s.Reason)
	}
	if rep.Failed > 0 || len(rep.Skipped) > 0 {
		return &ExitError{Code: ExitNotFound}
	}
	return nil
}
