// Package auth decides who a request comes from: a bearer token or a
// Chef-signed request (mixlib-authentication), and what it may do.
package auth

import "context"

// Caller is who sent a request, once authenticated.
type Caller struct {
	// Name is the token's label or the Chef user/client name; never a
	// secret, so it may be logged.
	Name string
	// Method is how the caller proved itself: "token", "chef" or "none"
	// (auth is off).
	Method string
	// Write is true when the caller may change the fleet.
	Write bool
}

type ctxKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the caller of the request ctx belongs to.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(ctxKey{}).(Caller)
	return c, ok
}
