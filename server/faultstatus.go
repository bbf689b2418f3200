package server

import (
	"net/http"

	"github.com/shearch/shearch/internal/fault"
)

// kindStatus is the one place an engine error's kind becomes an HTTP
// status: the engine packages say what went wrong, the HTTP layer says
// it in HTTP.
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

// faultStatus is the status of kind k; a kind without one is Shearch's
// own fault.
func faultStatus(k fault.Kind) int {
	if s, ok := kindStatus[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}
