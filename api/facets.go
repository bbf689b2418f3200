package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	search "github.com/shearch/shearch/search/result"
)

// Facets counts the values of attrs (dotted paths, as kernel.release)
// over the whole result of req, on every shard: GET /v1/facets/{index}.
// req's paging fields and Partial are ignored.
func (c *Client) Facets(ctx context.Context, req search.Request, attrs []string) (*search.Facets, error) {
	q := url.Values{}
	q.Set("q", req.Query)
	if req.Query == "" {
		q.Set("q", "*:*")
	}
	for _, a := range attrs {
		q.Add("attr", a)
	}
	if req.Stack != "" {
		q.Set("stack", req.Stack)
	}
	if len(req.Shards) > 0 {
		q.Set("shards", strings.Join(req.Shards, ","))
	}
	if req.Deny {
		q.Set("partial", "deny")
	}
	data, err := c.Do(ctx, http.MethodGet, "/v1/facets/"+url.PathEscape(req.Index), q, nil)
	if err != nil {
		return nil, err
	}
	var res search.Facets
	if err := decode(data, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
