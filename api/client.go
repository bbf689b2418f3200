// Package api is the Go client of Shearch's HTTP API, used by gnife and
// by backend services.
package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	search "github.com/shearch/shearch/search/result"
)

// DefaultAddress is where gnife looks for Shearch when nothing is set.
const DefaultAddress = "http://127.0.0.1:4000"

// Config says how to reach Shearch.
type Config struct {
	// Address is Shearch's base URL.
	Address string
	// Token is sent as a bearer token when set.
	Token      string
	HTTPClient *http.Client
	// Timeout bounds each request (default 60s: a fan-out waits for its
	// slowest shard).
	Timeout time.Duration
	// CAFile is a PEM file of the certificate authorities trusted for an
	// https Address, instead of the system's (as consul/api's
	// TLSConfig.CAFile). Ignored when HTTPClient is set.
	CAFile string
}

// DefaultConfig reads SHEARCH_URL, SHEARCH_TOKEN and SHEARCH_CACERT.
func DefaultConfig() *Config {
	c := &Config{Address: DefaultAddress, Timeout: 60 * time.Second}
	if v := os.Getenv("SHEARCH_URL"); v != "" {
		c.Address = v
	}
	c.Token = os.Getenv("SHEARCH_TOKEN")
	c.CAFile = os.Getenv("SHEARCH_CACERT")
	return c
}

// transport trusts CAFile's authorities when set; nil means the default.
func (cfg *Config) transport() (http.RoundTripper, error) {
	if cfg.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file (SHEARCH_CACERT or ca_file): %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s (SHEARCH_CACERT or ca_file) holds no PEM certificate", cfg.CAFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// Client calls Shearch.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// NewClient checks the address and builds a client.
func NewClient(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.Address, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bad Shearch URL %q: want http(s)://host:port (set --server-url or SHEARCH_URL)", cfg.Address)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := cfg.Timeout
		if t == 0 {
			t = 60 * time.Second
		}
		rt, err := cfg.transport()
		if err != nil {
			return nil, err
		}
		hc = &http.Client{Timeout: t, Transport: rt}
	}
	return &Client{cfg: *cfg, base: u, http: hc}, nil
}

// Address is the base URL in use.
func (c *Client) Address() string { return c.base.String() }

// StatusError is a non-2xx answer from Shearch.
type StatusError struct {
	Status   int
	Messages []string
}

func (e *StatusError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("Shearch answered HTTP %d", e.Status)
	}
	return strings.Join(e.Messages, "\n")
}

// NotFound reports whether err is a 404 from Shearch.
func NotFound(err error) bool {
	se, ok := err.(*StatusError)
	return ok && se.Status == http.StatusNotFound
}

// ConnectError is Shearch not answering at all.
type ConnectError struct {
	Address string
	Err     error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot reach Shearch at %s: %v (is `shearch serve` running? set --server-url or SHEARCH_URL)", e.Address, e.Err)
}

// Do is the one request pipeline: it sends, checks the status and returns
// the body of a 2xx answer.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	data, _, err := c.DoHeader(ctx, method, path, query, body)
	return data, err
}

// FailedShards reads the shards an answer says failed, with why, from
// its X-Shearch-Errors header.
func FailedShards(h http.Header) map[string]string {
	out := map[string]string{}
	if v := h.Get("X-Shearch-Errors"); v != "" {
		json.Unmarshal([]byte(v), &out)
	}
	for _, n := range strings.Split(h.Get("X-Shearch-Failed"), ",") {
		if _, ok := out[n]; n != "" && !ok {
			out[n] = "no answer"
		}
	}
	return out
}

// DoHeader is Do that also returns the answer's headers.
func (c *Client) DoHeader(ctx context.Context, method, path string, query url.Values, body any) ([]byte, http.Header, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, nil, &ConnectError{Address: c.base.String(), Err: err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, &ConnectError{Address: c.base.String(), Err: err}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		se := &StatusError{Status: res.StatusCode}
		var e struct {
			Error []string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 {
			se.Messages = e.Error
		} else if s := strings.TrimSpace(string(data)); s != "" {
			se.Messages = []string{s}
		}
		return nil, res.Header, se
	}
	return data, res.Header, nil
}

// GetJSON fetches path and decodes it, numbers kept as json.Number.
func (c *Client) GetJSON(ctx context.Context, path string, query url.Values, v any) error {
	data, err := c.Do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	return decode(data, v)
}

func decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("Shearch sent an answer that is not the expected JSON: %v", err)
	}
	return nil
}

// Search runs a federated search through the native API.
func (c *Client) Search(ctx context.Context, req search.Request) (*search.Result, error) {
	q := url.Values{}
	q.Set("q", req.Query)
	q.Set("start", strconv.Itoa(req.Start))
	if req.Rows > 0 {
		q.Set("rows", strconv.Itoa(req.Rows))
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
	if req.Cursor != "" {
		q.Set("cursor", req.Cursor)
	}
	method := http.MethodGet
	var body any
	if req.Partial != nil {
		method, body = http.MethodPost, req.Partial
	}
	data, err := c.Do(ctx, method, "/v1/search/"+url.PathEscape(req.Index), q, body)
	if err != nil {
		return nil, err
	}
	var res search.Result
	if err := decode(data, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
