package api

import (
	"context"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// RolloutGroup is how far a value has got within one group of nodes.
type RolloutGroup struct {
	Group string `json:"group"`
	// Reached counts the nodes whose attribute holds the wanted value (an
	// array attribute reaches it when any element does).
	Reached int     `json:"reached"`
	Total   int     `json:"total"`
	Share   float64 `json:"share"`
	// Stale counts the nodes whose ohai_time is older than StaleAfter, or
	// missing: a node that has not run Chef cannot have reached anything.
	Stale int `json:"stale"`
	// Values counts the current values of the attribute, "" for none.
	Values map[string]int `json:"values"`
}

// LaggingNode is one node that has not reached the wanted value.
type LaggingNode struct {
	Name  string `json:"name"`
	Shard string `json:"shard"`
	Group string `json:"group"`
	// Value is the node's current value as text; Missing says it has none.
	Value   string `json:"value"`
	Missing bool   `json:"missing,omitempty"`
	// OhaiTime is the node's last check-in (Unix seconds), 0 when unknown.
	OhaiTime float64 `json:"ohai_time"`
	Stale    bool    `json:"stale,omitempty"`
}

// Rollout is the answer of GET /v1/rollout/{index}: per group, how many
// nodes hold the wanted value, and the whole query in All.
type Rollout struct {
	Query string `json:"query"`
	Attr  string `json:"attr"`
	Want  string `json:"want"`
	By    string `json:"by,omitempty"`
	// StaleAfterSeconds is the check-in age past which a node is stale.
	StaleAfterSeconds int64 `json:"stale_after_seconds"`
	// Now is the clock (Unix seconds) staleness was measured against.
	Now    int64           `json:"now"`
	Groups []*RolloutGroup `json:"groups"`
	All    *RolloutGroup   `json:"all"`
	// Lagging lists nodes that have not reached Want, in name order, when
	// asked (lagging=true), at most max_lagging of them.
	Lagging          []LaggingNode `json:"lagging,omitempty"`
	LaggingTruncated bool          `json:"lagging_truncated,omitempty"`
	// OtherGroups says groups past the group bound were counted in a group
	// named by OtherGroupName.
	OtherGroups bool         `json:"other_groups,omitempty"`
	Shards      ShardSummary `json:"shards"`
	Duplicates  []Duplicate  `json:"duplicates"`
}

// Group names used where a node has no group value or its group is past
// the bound.
const (
	MissingGroupName = "(none)"
	OtherGroupName   = "(other)"
)

// PinMatrix is GET /v1/environments/pins: every environment's cookbook
// version constraints on every shard of a stack.
type PinMatrix struct {
	Stack string `json:"stack"`
	// Shards are the shards that answered, in name order.
	Shards []string `json:"shards"`
	// Environments and Cookbooks are in name order; _default is left out
	// (it cannot hold constraints).
	Environments []string `json:"environments"`
	Cookbooks    []string `json:"cookbooks"`
	Pins         []Pin    `json:"pins"`
	// Disagreements are the pins whose constraint differs between shards.
	Disagreements []Pin        `json:"disagreements"`
	ShardsSummary ShardSummary `json:"shards_summary"`
}

// Pin is one cookbook's constraint in one environment: the merged one
// (from the environment copy a read through Shearch returns, "" for
// none, which knife shows as latest) and each shard's ("" for none;
// a shard without the environment is left out of ByShard).
type Pin struct {
	Cookbook    string            `json:"cookbook"`
	Environment string            `json:"environment"`
	Merged      string            `json:"merged"`
	ByShard     map[string]string `json:"by_shard"`
	Disagree    bool              `json:"disagree"`
}

// RolloutOptions are the optional parts of a rollout request.
type RolloutOptions struct {
	// By groups the nodes: an attribute path, or "shard".
	By string
	// StaleAfter is the check-in age past which a node is stale; zero is
	// the server's default (search.rollout_stale_after, 1h).
	StaleAfter time.Duration
	// Lagging asks for the nodes that have not reached the value.
	Lagging bool
	Stack   string
	Shards  []string
	// Deny and AllowPartial are as in SearchOptions: a gate wants Deny
	// or a check of Shards, never a count that silently lacks a shard.
	Deny, AllowPartial bool
}

// Rollout says, per group, how many nodes of a query's result hold want
// at attr (a dotted path), and how many have not checked in lately:
// GET /v1/rollout/{index}.
func (c *Client) Rollout(ctx context.Context, index, query, attr, want string, opts *RolloutOptions) (*Rollout, error) {
	var so *SearchOptions
	if opts != nil {
		so = &SearchOptions{Stack: opts.Stack, Shards: opts.Shards, Deny: opts.Deny}
	}
	q := so.query(query)
	q.Set("attr", attr)
	q.Set("want", want)
	allow := false
	if opts != nil {
		if opts.By != "" {
			q.Set("by", opts.By)
		}
		if opts.StaleAfter > 0 {
			q.Set("stale", opts.StaleAfter.String())
		}
		if opts.Lagging {
			q.Set("lagging", "true")
		}
		allow = opts.AllowPartial
	}
	var r Rollout
	h, err := c.getJSON(ctx, "/v1/rollout/"+url.PathEscape(index), q, &r)
	if err != nil {
		return nil, err
	}
	return &r, partial(r.Shards, h, allow)
}

// Pins is every environment's cookbook constraints on every shard of
// stack ("" is the Config's stack, then Shearch's default):
// GET /v1/environments/pins. A failed shard is left out of the matrix
// and named in ShardsSummary.
func (c *Client) Pins(ctx context.Context, stack string) (*PinMatrix, error) {
	var m PinMatrix
	if _, err := c.getJSON(ctx, "/v1/environments/pins", stackQuery(stack), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// CookbookNames lists the cookbooks of stack merged over its shards, as
// Chef's GET /cookbooks?num_versions=1 names them, sorted (Chef Server's
// key order).
func (c *Client) CookbookNames(ctx context.Context, stack string) ([]string, error) {
	q := stackQuery(stack)
	q.Set("num_versions", strconv.Itoa(1))
	var books map[string]any
	if _, err := c.getJSON(ctx, "/cookbooks", q, &books); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(books))
	for k := range books {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}
