package shards

import "context"

type requestIDKey struct{}

// WithRequestID carries a client request's id to the shard requests made
// for it (sent as X-Request-Id), so one id ties the logs together.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the id WithRequestID stored, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
