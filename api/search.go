package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SearchOptions shape a search. The zero value is the first page of
// Chef's default size (1000 rows), whole objects, the Config's stack.
type SearchOptions struct {
	// Start skips rows; Rows is the page size (0: Shearch's default).
	Start, Rows int
	// Stack overrides Config.Stack.
	Stack string
	// Shards limits the fan-out to these shard names.
	Shards []string
	// Partial asks for a partial search: key -> attribute path, as
	// {"ip": {"ipaddress"}}. Nil fetches whole objects.
	Partial map[string][]string
	// Cursor continues a walk where a page's NextCursor left off; Pages
	// follows it for you.
	Cursor string
	// Order "none" streams rows as shards deliver them (Rows only); ""
	// is name order.
	Order string
	// Deny makes a failed shard fail the request (502, an *Error naming
	// it) instead of leaving a gap (Config.Deny for every call).
	Deny bool
	// AllowPartial returns an answer some shards failed to contribute to
	// without a *PartialError; its Shards summary still names them.
	AllowPartial bool
}

func (o *SearchOptions) query(q string) url.Values {
	v := url.Values{}
	if q != "" {
		// An empty q is a 400; no q at all is Chef's *:*.
		v.Set("q", q)
	}
	if o == nil {
		return v
	}
	if o.Start > 0 {
		v.Set("start", strconv.Itoa(o.Start))
	}
	if o.Rows > 0 {
		v.Set("rows", strconv.Itoa(o.Rows))
	}
	if o.Stack != "" {
		v.Set("stack", o.Stack)
	}
	if len(o.Shards) > 0 {
		v.Set("shards", strings.Join(o.Shards, ","))
	}
	if o.Cursor != "" {
		v.Set("cursor", o.Cursor)
	}
	if o.Order != "" {
		v.Set("order", o.Order)
	}
	if o.Deny {
		v.Set("partial", "deny")
	}
	return v
}

func (o *SearchOptions) allowPartial() bool { return o != nil && o.AllowPartial }

// searchRequest is GET /v1/search/{index}, or a POST with the partial
// body.
func (c *Client) searchRequest(index, query string, opts *SearchOptions) (*request, error) {
	method := http.MethodGet
	var body any
	if opts != nil && opts.Partial != nil {
		method, body = http.MethodPost, opts.Partial
	}
	r, err := c.newRequest(method, "/v1/search/"+url.PathEscape(index), opts.query(query), body)
	if err == nil {
		r.read = true
	}
	return r, err
}

// Search fetches one page of a federated search of index ("node", "role",
// "environment", "client" or a data bag) for a Chef query ("" is *:*).
// When shards failed, the page comes with a *PartialError naming them,
// unless opts.AllowPartial.
func (c *Client) Search(ctx context.Context, index, query string, opts *SearchOptions) (*Result, error) {
	r, err := c.searchRequest(index, query, opts)
	if err != nil {
		return nil, err
	}
	data, h, _, err := c.fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	var res Result
	if err := decodeJSON(data, &res, r); err != nil {
		return nil, err
	}
	return &res, partial(res.Shards, h, opts.allowPartial())
}

// FacetOptions shape a facet request.
type FacetOptions struct {
	// By breaks each attribute's counts down by the values of this
	// attribute too (as chef_environment), in Facets.By.
	By string
	// MaxValues bounds the distinct values kept per attribute; rows past
	// it are counted in Other.
	MaxValues int
	Stack     string
	Shards    []string
	// Deny and AllowPartial are as in SearchOptions.
	Deny, AllowPartial bool
}

// Facets counts the values of attrs (dotted paths, as kernel.release)
// over the whole result of a search, on every shard:
// GET /v1/facets/{index}.
func (c *Client) Facets(ctx context.Context, index, query string, attrs []string, opts *FacetOptions) (*Facets, error) {
	var so *SearchOptions
	if opts != nil {
		so = &SearchOptions{Stack: opts.Stack, Shards: opts.Shards, Deny: opts.Deny}
	}
	q := so.query(query)
	for _, a := range attrs {
		q.Add("attr", a)
	}
	allow := false
	if opts != nil {
		if opts.By != "" {
			q.Set("by", opts.By)
		}
		if opts.MaxValues > 0 {
			q.Set("max_values", strconv.Itoa(opts.MaxValues))
		}
		allow = opts.AllowPartial
	}
	var f Facets
	h, err := c.getJSON(ctx, "/v1/facets/"+url.PathEscape(index), q, &f)
	if err != nil {
		return nil, err
	}
	return &f, partial(f.Shards, h, allow)
}
