package shards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/internal/bytesize"
)

// DefaultPageSize is what Chef Server uses when rows is not given.
const DefaultPageSize = 1000

// Client talks to one shard. Requests are signed as go-chef/chef signs them
// (protocol 1.0), by sign.go, which does the RSA step with crypto/rsa's CRT;
// paging and query escaping are ours, because go-chef's search helper trusts
// `total` (goiardi reports the page length there) and sends the query
// unescaped.
type Client struct {
	Shard    Shard
	PageSize int
	// MaxAnswerBytes bounds one answer, and all pages of one search
	// together (shards.max_answer_bytes), so a broken shard cannot
	// exhaust memory. 0 is DefaultMaxAnswerBytes.
	MaxAnswerBytes int64
	// Guard, when set, bounds, breaks and retries this shard's requests
	// together with every other client of the same shard.
	Guard *Guard
	// chef builds and signs requests as go-chef does (sign.go) and sends
	// them.
	chef *signer
}

// DefaultMaxAnswerBytes is shards.max_answer_bytes when not set. It
// bounds all pages of one search together, and a page of 1,000 whole
// nodes with their ohai data is commonly 30-60 MiB, so a smaller default
// would fail real fleets' `knife search node '*:*'`.
const DefaultMaxAnswerBytes = 256 << 20

// NewClient builds a signed client for a shard. The key file is read once
// here so a bad path fails at start-up, naming the shard and the file.
func NewClient(s Shard) (*Client, error) {
	if s.ClientKey == "" {
		return nil, fmt.Errorf("shard %s: no client_key set: give the path of the PEM key for %q", s.Name, s.ClientName)
	}
	key, err := os.ReadFile(s.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("shard %s: cannot read client key %s: %v", s.Name, s.ClientKey, errors.Unwrap(err))
	}
	return NewClientWithKey(s, string(key))
}

// NewClientWithKey is NewClient with the PEM text already in hand.
func NewClientWithKey(s Shard, pem string) (*Client, error) {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("shard %s: bad url %q: want http(s)://host[:port][/organizations/ORG]", s.Name, s.URL)
	}
	if _, err := chef.PrivateKeyFromString([]byte(pem)); err != nil {
		return nil, fmt.Errorf("shard %s: client key %s is not a PEM RSA private key: %v", s.Name, s.ClientKey, err)
	}
	base := strings.TrimSuffix(s.URL, "/") + "/"
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	transport, err := transportFor(s.CAFile)
	if err != nil {
		return nil, fmt.Errorf("shard %s: %v", s.Name, err)
	}
	c, err := newSigner(base, s.ClientName, pem, &http.Client{Timeout: timeout, Transport: transport})
	if err != nil {
		return nil, fmt.Errorf("shard %s: %v", s.Name, err)
	}
	return &Client{Shard: s, PageSize: DefaultPageSize, chef: c}, nil
}

// sharedTransport keeps connections to every shard alive across requests;
// a fan-out opens one per shard per query otherwise.
var sharedTransport = &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	MaxIdleConnsPerHost: 32,
	IdleConnTimeout:     90 * time.Second,
}

// StatusError is a non-2xx answer from a shard.
type StatusError struct {
	Shard  string
	Status int
	// Messages is the server's {"error": [...]} list, or the raw body.
	Messages []string
}

func (e *StatusError) Error() string {
	msg := strings.Join(e.Messages, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("shard %s: HTTP %d: %s", e.Shard, e.Status, msg)
}

// Do sends one signed request and returns the raw body of a 2xx answer.
// The path comes only from this package's builders (path.go).
func (c *Client) Do(ctx context.Context, method string, p Path, body any) ([]byte, error) {
	return c.send(ctx, method, p, body, c.maxAnswer())
}

// send passes one request through the shard's guard, when it has one, so
// every request to a shard (searches, reads, writes) shares its bounds.
func (c *Client) send(ctx context.Context, method string, p Path, body any, limit int64) ([]byte, error) {
	send := func(ctx context.Context) (int, []byte, error) { return c.do(ctx, method, p, body, limit) }
	if c.Guard == nil {
		_, data, err := send(ctx)
		return data, err
	}
	// Searches are reads even when POSTed (partial search).
	idempotent := method == http.MethodGet || p.Kind() == ""
	return c.Guard.Do(ctx, idempotent, send)
}

func (c *Client) maxAnswer() int64 {
	if c.MaxAnswerBytes > 0 {
		return c.MaxAnswerBytes
	}
	return DefaultMaxAnswerBytes
}

// AnswerTooLargeError is a shard answer over shards.max_answer_bytes.
type AnswerTooLargeError struct {
	Shard string
	Limit int64
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("shard %s: answer larger than %s (shards.max_answer_bytes)", e.Shard, FormatBytes(e.Limit))
}

// FormatBytes writes a byte count as configs give it: 64 MiB, 16 KiB.
func FormatBytes(n int64) string { return bytesize.Format(n) }

// do reads at most limit bytes of the answer; more is an
// AnswerTooLargeError, without reading the rest.
func (c *Client) do(ctx context.Context, method string, p Path, body any, limit int64) (int, []byte, error) {
	if p.IsZero() {
		return 0, nil, fmt.Errorf("shard %s: refusing a request without a checked path", c.Shard.Name)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := c.chef.NewRequest(method, p.rel, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("shard %s: %v", c.Shard.Name, err)
	}
	req = req.WithContext(ctx)
	if id := RequestID(ctx); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	res, err := c.chef.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("shard %s: %w", c.Shard.Name, ctx.Err())
		}
		return 0, nil, &NetError{Shard: c.Shard.Name, Err: err}
	}
	defer res.Body.Close()
	if res.ContentLength > limit {
		return res.StatusCode, nil, &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("shard %s: reading answer: %w", c.Shard.Name, err)
	}
	if int64(len(data)) > limit {
		return res.StatusCode, nil, &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, nil, &StatusError{Shard: c.Shard.Name, Status: res.StatusCode, Messages: errorMessages(data)}
	}
	return res.StatusCode, data, nil
}

// GetJSON fetches a path and decodes it keeping numbers as json.Number,
// so `1794484758.0` survives the trip as typed.
func (c *Client) GetJSON(ctx context.Context, p Path, v any) error {
	data, err := c.Do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return err
	}
	return DecodeJSON(data, v)
}

// DecodeJSON decodes with UseNumber.
func DecodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func errorMessages(data []byte) []string {
	var e struct {
		Error any `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil {
		switch v := e.Error.(type) {
		case string:
			return []string{v}
		case []any:
			var out []string
			for _, m := range v {
				if s, ok := m.(string); ok {
					out = append(out, s)
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return nil
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return []string{s}
}

// NetError is a shard that could not be reached or did not answer; it
// keeps the cause for errors.Is (connection refused, timeout).
type NetError struct {
	Shard string
	Err   error
}

func (e *NetError) Error() string {
	return fmt.Sprintf("shard %s: %s", e.Shard, describeNetError(e.Err))
}
func (e *NetError) Unwrap() error { return e.Err }

func describeNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if strings.Contains(msg, "connection refused") {
		return "connection refused (is the Chef server up?)"
	}
	if strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded") {
		return "timed out"
	}
	return msg
}
