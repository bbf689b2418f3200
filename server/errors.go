package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/writes"
)

// kindStatus is the status each kind of engine fault answers with: the
// one place a kind becomes HTTP.
var kindStatus = map[fault.Kind]int{
	fault.Internal:     http.StatusInternalServerError,
	fault.BadRequest:   http.StatusBadRequest,
	fault.NotFound:     http.StatusNotFound,
	fault.NotAllowed:   http.StatusMethodNotAllowed,
	fault.Conflict:     http.StatusConflict,
	fault.TooLarge:     http.StatusRequestEntityTooLarge,
	fault.Overloaded:   http.StatusTooManyRequests,
	fault.Unavailable:  http.StatusServiceUnavailable,
	fault.ShardsFailed: http.StatusBadGateway,
	fault.NoSpace:      http.StatusInsufficientStorage,
}

// statusOf is the status a failed request answers with: an engine fault
// by its kind; a client that left 499 (logged, not an error); a deadline
// 504; anything else 500.
func statusOf(err error) int {
	var fe *fault.Error
	switch {
	case errors.As(err, &fe):
		if s, ok := kindStatus[fe.Kind]; ok {
			return s
		}
		return http.StatusInternalServerError
	case errors.Is(err, context.Canceled):
		return StatusClientClosed
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// writeStatus is the status a write's verdict answers with: 201 for a
// create every shard did (200 otherwise), 207 when some did, the shards'
// own code when they all refused alike, 502 when none did.
func writeStatus(method string, res *writes.Result) int {
	switch res.Verdict {
	case writes.WroteAll:
		if method == http.MethodPost {
			return http.StatusCreated
		}
		return http.StatusOK
	case writes.WroteSome:
		return http.StatusMultiStatus
	case writes.AllRefused:
		return res.ShardCode
	}
	return http.StatusBadGateway
}
