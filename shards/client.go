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
	"syscall"
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
		return nil, shardErrorf(s.Name, "no client_key set: give the path of the PEM key for %q", s.ClientName)
	}
	key, err := os.ReadFile(s.ClientKey)
	if err != nil {
		return nil, shardErrorf(s.Name, "cannot read client key %s: %v", s.ClientKey, errors.Unwrap(err))
	}
	return NewClientWithKey(s, string(key))
}

// NewClientWithKey is NewClient with the PEM text already in hand.
func NewClientWithKey(s Shard, pem string) (*Client, error) {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, shardErrorf(s.Name, "bad url %q: want http(s)://host[:port][/organizations/ORG]", s.URL)
	}
	if _, err := chef.PrivateKeyFromString([]byte(pem)); err != nil {
		return nil, shardErrorf(s.Name, "client key %s is not a PEM RSA private key: %v", s.ClientKey, err)
	}
	base := strings.TrimSuffix(s.URL, "/") + "/"
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	transport, err := transportFor(s.CAFile)
	if err != nil {
		return nil, shardErrorf(s.Name, "%v", err)
	}
	c, err := newSigner(base, s.ClientName, pem, &http.Client{Timeout: timeout, Transport: transport})
	if err != nil {
		return nil, shardErrorf(s.Name, "%v", err)
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

func (e *StatusError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *StatusError) Detail() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Reason())
}

// ShardName is the shard that failed.
func (e *StatusError) ShardName() string { return e.Shard }

// Reason is what the shard said, or the name of its answer code when it
// said nothing; "" for no refusal at all.
func (e *StatusError) Reason() string {
	if e == nil {
		return ""
	}
	if msg := strings.Join(e.Messages, "; "); msg != "" {
		return msg
	}
	return http.StatusText(e.Status)
}

// Do sends one signed request and returns the raw body of a 2xx answer.
// The path comes only from this package's builders (path.go).
func (c *Client) Do(ctx context.Context, method string, p Path, body any) ([]byte, error) {
	return c.send(ctx, method, p, body, c.maxAnswer(), nil)
}

// Write sends one write and returns the shard's answer code with the raw
// body of a 2xx answer; a refusal's code is in its StatusError.
func (c *Client) Write(ctx context.Context, method string, p Path, body any) (int, []byte, error) {
	var code int
	data, err := c.send(ctx, method, p, body, c.maxAnswer(), &code)
	return code, data, err
}

// send passes one request through the shard's guard, when it has one, so
// every request to a shard (searches, reads, writes) shares its bounds.
// When code is not nil, it is set to the answer code of the last attempt.
func (c *Client) send(ctx context.Context, method string, p Path, body any, limit int64, code *int) ([]byte, error) {
	send := func(ctx context.Context) (int, []byte, error) {
		status, data, err := c.do(ctx, method, p, body, limit)
		if code != nil {
			*code = status
		}
		return status, data, err
	}
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

func (e *AnswerTooLargeError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *AnswerTooLargeError) Detail() string {
	return fmt.Sprintf("answer larger than %s (shards.max_answer_bytes)", FormatBytes(e.Limit))
}

// ShardName is the shard that failed.
func (e *AnswerTooLargeError) ShardName() string { return e.Shard }

// FormatBytes writes a byte count as configs give it: 64 MiB, 16 KiB.
func FormatBytes(n int64) string { return bytesize.Format(n) }

// do reads at most limit bytes of the answer; more is an
// AnswerTooLargeError, without reading the rest.
func (c *Client) do(ctx context.Context, method string, p Path, body any, limit int64) (int, []byte, error) {
	if p.IsZero() {
		return 0, nil, shardErrorf(c.Shard.Name, "refusing a request without a checked path")
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
		return 0, nil, shardErrorf(c.Shard.Name, "%v", err)
	}
	req = req.WithContext(ctx)
	if id := RequestID(ctx); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	res, err := c.chef.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, shardErrorf(c.Shard.Name, "%w", ctx.Err())
		}
		return 0, nil, &NetError{Shard: c.Shard.Name, Err: err}
	}
	defer res.Body.Close()
	if res.ContentLength > limit {
		return res.StatusCode, nil, &AnswerTooLargeError{Shard: c.Shard.Name, Limit: c.maxAnswer()}
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return res.StatusCode, nil, shardErrorf(c.Shard.Name, "reading answer: %w", err)
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

// Failure is an error about one shard that names it: Detail is the rest
// of its message, for a summary that names the shard already.
type Failure interface {
	error
	ShardName() string
	Detail() string
}

// Error is a shard's failure with no type of its own: a bad key or URL,
// an answer that is not JSON, a request cut short by its caller.
type Error struct {
	Shard string
	Err   error
}

func shardErrorf(shard, format string, a ...any) *Error {
	return &Error{Shard: shard, Err: fmt.Errorf(format, a...)}
}

func (e *Error) Error() string { return "shard " + e.Shard + ": " + e.Err.Error() }

// Detail is the error without the shard's name.
func (e *Error) Detail() string { return e.Err.Error() }

// ShardName is the shard that failed.
func (e *Error) ShardName() string { return e.Shard }

func (e *Error) Unwrap() error { return e.Err }

// NetError is a shard that could not be reached or did not answer; it
// keeps the cause for errors.Is (connection refused, timeout).
type NetError struct {
	Shard string
	Err   error
}

func (e *NetError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *NetError) Detail() string {
	return describeNetError(e.Err)
}

// ShardName is the shard that failed.
func (e *NetError) ShardName() string { return e.Shard }
func (e *NetError) Unwrap() error     { return e.Err }

// describeNetError names the common causes plainly; anything else keeps
// its own text, without the request URL that url.Error adds.
func describeNetError(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is the Chef server up?)"
	case errors.Is(err, context.DeadlineExceeded):
		// The http.Client's own timeout says so too.
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
