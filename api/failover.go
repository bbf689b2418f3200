package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The rules of retries and failover, all here:
//
//   - A 429, or a 503 with Retry-After, is retried at the same replica no
//     sooner than Retry-After says, each wait at least double the one
//     before, plus up to as much again of jitter so that a herd of shed
//     clients spreads its retries over a second or more; at most
//     Config.MaxRetries times, and never past the context's deadline (the
//     shed answer is returned instead, as an *Error with RetryAfter).
//     Only reads are retried: a write that reached a replica is never
//     resent, shed or not; its caller gets the *Error and decides.
//   - A read moves to the next address on a connection error, or on a 503
//     from a replica that is draining (a 503 without Retry-After, or one
//     that says "draining").
//   - A write moves on only when the connection was refused: then it
//     cannot have reached a replica. It is never resent otherwise.
//   - Each move is one log line (Config.Logger). The address that answers
//     is where the next call starts.

// send sends r: retries of shed answers around failover over addresses.
// It returns the response of any status and the address that gave it.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, string, error) {
	var prev time.Duration
	for attempt := 0; ; attempt++ {
		res, addr, err := c.sendOnce(ctx, r)
		if err != nil {
			return nil, "", err
		}
		after, shed := retryAfter(res.Header)
		shed = shed && (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable)
		if !shed || attempt >= c.maxRetries() || r.write() {
			return res, addr, nil
		}
		wait := backoff(after, prev)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlive the caller: the shed answer is the
			// answer.
			return res, addr, nil
		}
		drain(res.Body)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, "", fmt.Errorf("%s %s: waiting %v to retry after Shearch shed it: %w", r.method, r.path, wait, ctx.Err())
		case <-t.C:
		}
		prev = wait
	}
}

// backoff is the wait before a retry: at least Retry-After, at least
// twice the previous wait, plus up to as much again at random.
func backoff(after, prev time.Duration) time.Duration {
	floor := max(after, 2*prev, 100*time.Millisecond)
	return floor + rand.N(floor)
}

// retryAfter reads Retry-After (seconds or an HTTP date); ok when present.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// sendOnce tries the addresses in turn from the current one, as the
// rules above allow.
func (c *Client) sendOnce(ctx context.Context, r *request) (*http.Response, string, error) {
	n := len(c.bases)
	start := int(c.cur.Load())
	for i := 0; ; i++ {
		idx := (start + i) % n
		base := c.bases[idx]
		req, err := c.httpRequest(ctx, base, r)
		if err != nil {
			return nil, "", err
		}
		res, err := c.http.Do(req)
		last := i == n-1
		if err == nil {
			if !last && !r.write() && draining(res) {
				c.moved(r, base.String(), c.bases[(idx+1)%n].String(), fmt.Sprintf("answered %d (draining)", res.StatusCode))
				drain(res.Body)
				continue
			}
			c.cur.Store(int32(idx))
			return res, base.String(), nil
		}
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("%s %s at %s: %w", r.method, r.path, base, ctx.Err())
		}
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		ce := &ConnectError{Address: base.String(), Err: cause}
		if last || (r.write() && !errors.Is(err, syscall.ECONNREFUSED)) {
			return nil, "", ce
		}
		c.moved(r, base.String(), c.bases[(idx+1)%n].String(), cause.Error())
	}
}

// draining is a replica on its way out: a 503 that is no shed request.
func draining(res *http.Response) bool {
	if res.StatusCode != http.StatusServiceUnavailable {
		return false
	}
	_, shed := retryAfter(res.Header)
	return !shed || strings.EqualFold(res.Header.Get("X-Shearch-Draining"), "true")
}

func (c *Client) moved(r *request, from, to, why string) {
	c.log.Warn("shearch: moving to the next address", "from", from, "to", to, "method", r.method, "path", r.path, "reason", why)
}

// drain reads a little of a body we do not want, so its connection can
// be reused, then closes it.
func drain(body io.ReadCloser) {
	io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

// readCapped reads at most n bytes.
func readCapped(r io.Reader, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, n))
}
