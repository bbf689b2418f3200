// Package fault holds the one error type the engine packages return for a
// failed request: what kind of failure it is, which shards were involved,
// and when to come back. It never imports net/http; only the HTTP layer
// (server/) turns a Kind into a status code, as Prometheus's web API does
// with its errorType.
package fault

import (
	"errors"
	"fmt"
	"time"

	"github.com/shearch/shearch/api"
)

// Kind says what went wrong, in the terms a caller acts on.
type Kind int

const (
	// Internal is a fault of Shearch itself (the zero Kind, so a
	// forgotten kind never looks like the caller's fault).
	Internal Kind = iota
	// BadRequest: the request cannot be answered as asked.
	BadRequest
	// NotFound: the object, index or stack does not exist.
	NotFound
	// NotAllowed: the method is not one the path takes.
	NotAllowed
	// Conflict: the request clashes with what the shards hold.
	Conflict
	// TooLarge: the request or its answer is over a configured bound.
	TooLarge
	// Overloaded: Shearch shed the request under its own limits; come
	// back after RetryAfter.
	Overloaded
	// Unavailable: nothing can answer now (no shards known, a shard that
	// is failing sheds, a budget is spent); come back after RetryAfter.
	Unavailable
	// ShardsFailed: the shards needed for the answer failed.
	ShardsFailed
	// NoSpace: the answer is too large to hold or sort.
	NoSpace
)

var kindNames = [...]string{"internal", "bad request", "not found", "not allowed", "conflict",
	"too large", "overloaded", "unavailable", "shards failed", "no space"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is a failure of a whole request.
type Error struct {
	Kind Kind
	// Message is the one line the caller sees.
	Message string
	// Shards, when known, says which shards failed, for the headers.
	Shards *api.ShardSummary
	// RetryAfter, for Overloaded and Unavailable, is when to try again.
	RetryAfter time.Duration
	// Err is the cause, for errors.Is and errors.As; it is not shown.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of kind k whose message is formatted as by
// fmt.Errorf; a %w verb also becomes its cause.
func Errorf(k Kind, format string, a ...any) *Error {
	err := fmt.Errorf(format, a...)
	return &Error{Kind: k, Message: err.Error(), Err: errors.Unwrap(err)}
}

// KindOf is err's kind, Internal when err is not an *Error.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Internal
}

// Is reports whether err is an *Error of kind k.
func Is(err error, k Kind) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Kind == k
}
