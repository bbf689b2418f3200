// Package apitest runs the Go client (the api module) against live
// Shearch servers: real goiardi shards for the api module's examples and
// the error types, the fast fake shards for streams at scale, and a
// Shearch that sheds for retries. It lives in the main module because
// the api module must not depend on the server.
package apitest
