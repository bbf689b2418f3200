package fanout

import (
	"context"
	"errors"
	"fmt"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// Shed turns a shard request refused for overload into the whole
// request's answer: Overloaded (Unavailable when the shard fails) with
// Retry-After. A partial answer would look like a result to scripts that
// retry nothing.
func Shed[T any](answers []Answer[T]) error {
	for _, a := range answers {
		if err := Overload(a.Err); err != nil {
			return err
		}
	}
	return nil
}

// Overload is err as the request's answer when Shearch's own limits
// shed it, nil otherwise.
func Overload(err error) *fault.Error {
	var oe *shards.OverloadedError
	if !errors.As(err, &oe) {
		return nil
	}
	kind := fault.Overloaded
	if oe.ShardFailing() {
		kind = fault.Unavailable
	}
	return &fault.Error{Kind: kind, RetryAfter: oe.RetryAfter,
		Message: fmt.Sprintf("Shearch is shedding load: shard %s is overloaded (%s); retry after %s", oe.Shard, oe.Reason, oe.RetryAfter)}
}

// RequestFailure is the error that ends a whole request rather than one
// shard's part: the caller left, or a shard shed the request. nil means
// err is the shard's alone.
func RequestFailure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if oe := Overload(err); oe != nil {
		return oe
	}
	return nil
}

// Blameless is an outcome that says nothing of the shard's health: the
// caller left, Shearch shed the request before sending it, or Shearch's
// own work on the shard's rows failed (the sorter's bounds). The
// engine's fault.Error is never a shard's failure: what a shard does
// wrong reaches the fan-out as a shards error.
func Blameless(err error) bool {
	var oe *shards.OverloadedError
	var fe *fault.Error
	return errors.Is(err, context.Canceled) || errors.As(err, &oe) || errors.As(err, &fe)
}

// IsClientError is a 4xx: the shard answered, the request was the
// problem (a node that lives elsewhere, an unknown index), so it is not
// a fault of the shard.
func IsClientError(err error) bool {
	var se *shards.StatusError
	return errors.As(err, &se) && se.Status >= 400 && se.Status < 500
}

// Detail is err without the shard's name, which the shard's status
// already gives. Only an error that is itself about that shard is
// shortened: one wrapped in more words ("listing data bags: ...") keeps
// them all.
func Detail(err error, shard string) string {
	if f, ok := err.(shards.Failure); ok && f.ShardName() == shard {
		return f.Detail()
	}
	return err.Error()
}
