package api

import (
	"context"
	"net/http"
	"net/url"
)

func stackQuery(stack string) url.Values {
	q := url.Values{}
	if stack != "" {
		q.Set("stack", stack)
	}
	return q
}

// Shards is the topology: every shard with its stack, weight, source,
// health and last error, and the state of each discovery source
// (GET /v1/shards).
func (c *Client) Shards(ctx context.Context) (*Topology, error) {
	var t Topology
	if _, err := c.getJSON(ctx, "/v1/shards", nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Locate says which shards of the Config's stack hold a node, and which
// copy wins (GET /v1/nodes/{name}). An unknown node is a 404 *Error.
func (c *Client) Locate(ctx context.Context, name string) (*Location, error) {
	var l Location
	h, err := c.getJSON(ctx, "/v1/nodes/"+url.PathEscape(name), nil, &l)
	if err != nil {
		return nil, err
	}
	return &l, partial(l.ShardStatus, h, false)
}

// Consistency lists the roles, environments, data bag items and cookbook
// versions that differ between the shards of stack ("" is the Config's
// stack, then Shearch's default): GET /v1/consistency.
func (c *Client) Consistency(ctx context.Context, stack string) (*Consistency, error) {
	var rep Consistency
	if _, err := c.getJSON(ctx, "/v1/consistency", stackQuery(stack), &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// RepairPlan is what a repair of stack would change
// (GET /v1/consistency/repair).
func (c *Client) RepairPlan(ctx context.Context, stack string) (*RepairPlan, error) {
	var p RepairPlan
	if _, err := c.getJSON(ctx, "/v1/consistency/repair", stackQuery(stack), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Repair applies actions, as RepairPlan listed them; Shearch skips any
// the shards no longer call for, and says why in the report. Writes need
// write scope. When an action reached only some shards, the report comes
// with a *PartialError holding their outcomes. The stack repaired is
// Config.Stack (Shearch's default when empty): plan with the same stack.
// An empty list does nothing: Shearch would read it as "the whole plan
// as it is now", which no one has seen.
func (c *Client) Repair(ctx context.Context, actions []RepairAction) (*RepairReport, error) {
	if len(actions) == 0 {
		return &RepairReport{Stack: c.cfg.Stack, Applied: []RepairDone{}, Skipped: []RepairSkip{}}, nil
	}
	r, err := c.newRequest(http.MethodPost, "/v1/consistency/repair", nil, RepairRequest{Actions: actions})
	if err != nil {
		return nil, err
	}
	data, h, _, err := c.fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	var rep RepairReport
	if err := decodeJSON(data, &rep, r); err != nil {
		return nil, err
	}
	if rep.Failed > 0 {
		pe := &PartialError{RequestID: h.Get("X-Request-Id")}
		for _, a := range rep.Applied {
			for _, o := range a.Outcomes {
				if !o.Done() {
					pe.Outcomes = append(pe.Outcomes, o)
				}
			}
		}
		return &rep, pe
	}
	return &rep, nil
}
