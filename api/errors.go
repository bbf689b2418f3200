package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is an answer of Shearch other than 2xx. Use errors.As:
//
//	var ae *api.Error
//	if errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests { ... }
type Error struct {
	// StatusCode is the HTTP status: 400 bad request, 401 unknown caller,
	// 403 no write scope, 404 no such object, 409 exists, 413 too large,
	// 429 shed under load, 502 shards failed, 503 unavailable.
	StatusCode int
	// Messages are Shearch's (Chef's) error lines, {"error": [...]}.
	Messages []string
	// RetryAfter is the Retry-After of a shed request (429, 503), after
	// the client's retries ran out.
	RetryAfter time.Duration
	// RequestID ties the answer to Shearch's log lines.
	RequestID string
	// Shards are the shards that failed, with why, when the answer names
	// them (a 502 always does).
	Shards []ShardStatus
	// Outcomes are each shard's part in a write that failed.
	Outcomes []WriteOutcome
	// Address is the replica that answered; Method and Path the request.
	Address, Method, Path string
}

func (e *Error) Error() string {
	msg := strings.Join(e.Messages, "; ")
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("Shearch answered %s %s with %d: %s (request id %s)", e.Method, e.Path, e.StatusCode, msg, e.RequestID)
}

// PartialError is an answer that lacks some shards' part: a search or
// stream where shards failed (unless the options allow that), or a write
// that reached only some shards (207). What did arrive is returned with
// it.
type PartialError struct {
	// Shards is the per-shard summary of a read.
	Shards ShardSummary
	// Outcomes are each shard's part in a write.
	Outcomes []WriteOutcome
	// Messages say why the answer is partial, when Shearch said.
	Messages  []string
	RequestID string
}

func (e *PartialError) Error() string {
	var parts []string
	if len(e.Outcomes) > 0 {
		for _, o := range e.Outcomes {
			if !o.Done() && o.Status != WriteSkipped {
				parts = append(parts, fmt.Sprintf("%s (%s, HTTP %d: %s)", o.Name, o.Status, o.Code, o.Error))
			}
		}
	} else {
		for _, d := range e.Shards.Details {
			if d.Status != StatusOK {
				parts = append(parts, fmt.Sprintf("%s (%s)", d.Name, d.Error))
			}
		}
	}
	msg := "partial answer: shards failed: " + strings.Join(parts, ", ")
	if len(e.Messages) > 0 {
		msg = strings.Join(e.Messages, "; ") + " [" + msg + "]"
	}
	return msg + "; allow partial answers with AllowPartial, or retry once every shard answers"
}

// Failed names the shards that failed, each once.
func (e *PartialError) Failed() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range e.Shards.FailedNames() {
		add(n)
	}
	for _, o := range e.Outcomes {
		if !o.Done() && o.Status != WriteSkipped {
			add(o.Name)
		}
	}
	return out
}

// ConnectError is Shearch not answering at any address.
type ConnectError struct {
	Address string
	Err     error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot reach Shearch at %s: %v (is `shearch serve` running? check SHEARCH_URL or server_url)", e.Address, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// statusError reads a non-2xx answer into an *Error.
func (c *Client) statusError(addr string, r *request, res *http.Response) error {
	e := &Error{StatusCode: res.StatusCode, RequestID: res.Header.Get("X-Request-Id"), Address: addr, Method: r.method, Path: r.path}
	if e.RequestID == "" {
		e.RequestID = r.id
	}
	e.RetryAfter, _ = retryAfter(res.Header)
	// An error body is small; a huge one is cut, not held.
	data, _ := readCapped(res.Body, 1<<20)
	var body struct {
		Error  []string       `json:"error"`
		Shards []WriteOutcome `json:"shards"`
	}
	if json.Unmarshal(data, &body) == nil && len(body.Error) > 0 {
		e.Messages = body.Error
		e.Outcomes = body.Shards
	} else if s := strings.TrimSpace(string(data)); s != "" {
		e.Messages = []string{s}
	}
	e.Shards = headerSummary(res.Header).failedOnly()
	return e
}

// headerSummary reads the shard headers: X-Shearch-Shards ("ok/total"),
// X-Shearch-Failed (names) and X-Shearch-Errors (name -> why).
func headerSummary(h http.Header) ShardSummary {
	var s ShardSummary
	if ok, total, found := strings.Cut(h.Get("X-Shearch-Shards"), "/"); found {
		s.OK, _ = strconv.Atoi(ok)
		s.Total, _ = strconv.Atoi(total)
	}
	why := map[string]string{}
	if v := h.Get("X-Shearch-Errors"); v != "" {
		json.Unmarshal([]byte(v), &why)
	}
	for _, n := range strings.Split(h.Get("X-Shearch-Failed"), ",") {
		if n == "" {
			continue
		}
		msg := why[n]
		if msg == "" {
			msg = "no answer"
		}
		s.Details = append(s.Details, ShardStatus{Name: n, Status: StatusFailed, Error: msg})
		s.Failed++
	}
	return s
}

func (s ShardSummary) failedOnly() []ShardStatus {
	var out []ShardStatus
	for _, d := range s.Details {
		if d.Status != StatusOK {
			out = append(out, d)
		}
	}
	return out
}

// partial is the *PartialError of a read whose summary names failed
// shards, or nil.
func partial(s ShardSummary, h http.Header, allow bool) error {
	if allow || s.Failed == 0 && len(s.FailedNames()) == 0 {
		return nil
	}
	pe := &PartialError{Shards: s}
	if h != nil {
		pe.RequestID = h.Get("X-Request-Id")
	}
	return pe
}
