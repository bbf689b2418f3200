package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chef/chef"
)

// request is one call, built once and sent as often as retries and
// failover need.
type request struct {
	method string
	// path is escaped, from the base URL's path on: "/v1/search/node".
	path  string
	query url.Values
	body  []byte
	// accept is the answer's media type; "" is JSON.
	accept string
	id     string
	// read marks a POST that only reads (a partial search): it may be
	// resent elsewhere as a GET may.
	read bool
}

// newRequest builds a call; body, when not nil, is sent as JSON.
func (c *Client) newRequest(method, path string, query url.Values, body any) (*request, error) {
	r := &request{method: method, path: path, query: url.Values{}}
	for k, v := range query {
		r.query[k] = v
	}
	if c.cfg.Stack != "" && r.query.Get("stack") == "" {
		r.query.Set("stack", c.cfg.Stack)
	}
	if c.cfg.Deny && r.query.Get("partial") == "" {
		r.query.Set("partial", "deny")
	}
	// The stack goes in the path, /stacks/{stack}/..., which Shearch
	// reads as ?stack=: a Chef signature covers the path and not the
	// query, so a signed request may name its stack only there.
	if st := r.query.Get("stack"); st != "" {
		r.query.Del("stack")
		r.path = "/stacks/" + url.PathEscape(st) + r.path
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the body of %s %s: %w", method, path, err)
		}
		r.body = b
	}
	var id [8]byte
	rand.Read(id[:])
	r.id = hex.EncodeToString(id[:])
	return r, nil
}

// write says a request may change something: it is never resent once it
// may have reached a replica.
func (r *request) write() bool { return r.method != http.MethodGet && !r.read }

// httpRequest is the request for one attempt at base: a fresh body, a
// fresh signature.
func (c *Client) httpRequest(ctx context.Context, base *url.URL, r *request) (*http.Request, error) {
	u := base.String() + r.path
	if q := r.query.Encode(); q != "" {
		u += "?" + q
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("X-Request-Id", r.id)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.signer != nil:
		// As go-chef's NewRequest: the body's hash, then the signature of
		// the path (never the query), method, user and time.
		req.Header.Set("X-Ops-Content-Hash", (&chef.Body{Reader: bytes.NewReader(r.body)}).Hash256())
		if err := c.signer.SignRequest(req); err != nil {
			return nil, fmt.Errorf("signing %s %s as %s: %w", r.method, r.path, c.cfg.ChefUser, err)
		}
		// SignRequest sets the Accept a Chef server wants.
		req.Header.Set("Accept", accept)
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return req, nil
}

// call sends r with retries and failover; a non-2xx answer becomes an
// *Error, and the caller owns the 2xx response's body.
func (c *Client) call(ctx context.Context, r *request) (*http.Response, error) {
	res, addr, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		return nil, c.statusError(addr, r, res)
	}
	return res, nil
}

// fetch is call for an answer held whole: at most MaxResponseBytes.
func (c *Client) fetch(ctx context.Context, r *request) ([]byte, http.Header, int, error) {
	res, err := c.call(ctx, r)
	if err != nil {
		return nil, nil, 0, err
	}
	defer res.Body.Close()
	data, err := c.readAll(res.Body, r)
	return data, res.Header, res.StatusCode, err
}

// readAll reads a whole answer, refusing one over MaxResponseBytes.
func (c *Client) readAll(body io.Reader, r *request) ([]byte, error) {
	limit := c.maxBytes()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading Shearch's answer to %s %s: %w", r.method, r.path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("Shearch's answer to %s %s is over %d bytes (Config.MaxResponseBytes): ask for fewer rows, or stream with Rows", r.method, r.path, limit)
	}
	return data, nil
}

// decodeJSON decodes an answer, numbers kept as json.Number in maps.
func decodeJSON(data []byte, v any, r *request) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("Shearch's answer to %s %s is not the expected JSON: %w", r.method, r.path, err)
	}
	return nil
}

// getJSON is a GET decoded into v, with the answer's headers.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) (http.Header, error) {
	return c.sendJSON(ctx, http.MethodGet, path, q, nil, v)
}

func (c *Client) sendJSON(ctx context.Context, method, path string, q url.Values, body, v any) (http.Header, error) {
	r, err := c.newRequest(method, path, q, body)
	if err != nil {
		return nil, err
	}
	data, h, _, err := c.fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return h, nil
	}
	return h, decodeJSON(data, v, r)
}

// Do sends one request through the pipeline (auth, request id, retries,
// failover, errors) for what the typed methods do not cover. path is
// already escaped ("/data/my%20bag"), query is added as given (with the
// Config's Deny; a stack, the query's or the Config's, goes in front of
// the path as /stacks/{stack}), body is sent as JSON when not nil. It
// returns a 2xx answer's body and headers; any other answer is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, http.Header, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, nil, fmt.Errorf("path %q: start it with /", path)
	}
	r, err := c.newRequest(method, path, query, body)
	if err != nil {
		return nil, nil, err
	}
	data, h, _, err := c.fetch(ctx, r)
	return data, h, err
}

// NotFound reports whether err is, or wraps, a 404 from Shearch.
func NotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}
