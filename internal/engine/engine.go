// Package engine is the whole engine the HTTP server serves: the read
// engine (search) with writes and drift over the same shards and the
// same per-shard bounds, wired so that a write empties what reads and
// drift reports cached before it. It must never import net/http or
// server.
package engine

import (
	"github.com/shearch/shearch/internal/drift"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
)

// Engine reads through search, writes through writes, and compares and
// repairs shards through drift. Make it with New.
type Engine struct {
	*search.Engine
	*writes.Writer
	*drift.Checker
}

// Config bounds what writes and drift keep between requests; the read
// engine has its own (search.Config).
type Config struct {
	Writes writes.Config
	Drift  drift.Config
}

// New serves read, with writes and drift over its shards.
func New(read *search.Engine, cfg Config) *Engine {
	e := &Engine{Engine: read}
	e.Writer = writes.New(cfg.Writes, read, e.changed)
	e.Checker = drift.New(cfg.Drift, read, e.Writer)
	return e
}

// Over is New with writes and drift at their defaults.
func Over(read *search.Engine) *Engine { return New(read, Config{}) }

// changed runs after every write: no search answer from before it may
// be served after it, nor a drift report when the write changed what
// every shard shares.
func (e *Engine) changed(shared bool) {
	e.Engine.ForgetAnswers()
	if shared {
		e.Checker.Forget()
	}
}
