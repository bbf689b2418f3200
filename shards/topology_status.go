package shards

import (
	"sync"
	"time"
)

// SourceStatus is one discovery source's state, as /v1/shards shows it.
type SourceStatus struct {
	Source Source `json:"source"`
	// State: ok; stale (the last attempt failed, last-known-good is served);
	// failed (failing and nothing known from it); pending (not asked yet).
	State       string    `json:"state"`
	Shards      int       `json:"shards"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	FromCache   bool      `json:"from_cache,omitempty"`
}

// Snapshot is one immutable version of the topology.
type Snapshot struct {
	Version   uint64
	UpdatedAt time.Time
	// All holds every shard, sorted by stack then name.
	All      []Shard
	Sources  []SourceStatus
	Problems []DiscoveryProblem
	// Stale is true while any source is served from last-known-good.
	Stale bool

	origins map[string][]Source
	errs    *shardErrors
}

// Shards returns the shards of one stack; "all" means every stack.
func (s Snapshot) Shards(stack string) []Shard {
	var out []Shard
	for _, sh := range s.All {
		if stack == "all" || sh.Stack == stack {
			out = append(out, sh)
		}
	}
	return out
}

// Shard finds a shard by name.
func (s Snapshot) Shard(name string) (Shard, bool) {
	for _, sh := range s.All {
		if sh.Name == name {
			return sh, true
		}
	}
	return Shard{}, false
}

// ShardStatus is one row of /v1/shards.
type ShardStatus struct {
	Name   string `json:"name"`
	Stack  string `json:"stack"`
	URL    string `json:"url"`
	Weight *int64 `json:"weight,omitempty"`
	Source Source `json:"source"`
	// Sources lists every source that knows the shard, winner first.
	Sources     []Source  `json:"sources"`
	Health      Health    `json:"health"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// TopologyStatus is the body of GET /v1/shards.
type TopologyStatus struct {
	Version    uint64             `json:"version"`
	UpdatedAt  time.Time          `json:"updated_at"`
	AgeSeconds float64            `json:"age_seconds"`
	Stale      bool               `json:"stale"`
	Shards     []ShardStatus      `json:"shards"`
	Sources    []SourceStatus     `json:"sources"`
	Problems   []DiscoveryProblem `json:"problems"`
}

// Status is the snapshot as /v1/shards shows it, with each shard's last
// request error as reported through Topology.ReportShardError.
func (s Snapshot) Status() TopologyStatus {
	st := TopologyStatus{Version: s.Version, UpdatedAt: s.UpdatedAt, AgeSeconds: time.Since(s.UpdatedAt).Seconds(),
		Stale: s.Stale, Shards: []ShardStatus{}, Sources: s.Sources, Problems: s.Problems}
	if st.Problems == nil {
		st.Problems = []DiscoveryProblem{}
	}
	if st.Sources == nil {
		st.Sources = []SourceStatus{}
	}
	for _, sh := range s.All {
		row := ShardStatus{Name: sh.Name, Stack: sh.Stack, URL: sh.URL, Weight: sh.Weight, Source: sh.Source,
			Sources: s.origins[sh.Name], Health: sh.Health}
		if e, ok := s.errs.get(sh.Name); ok {
			row.LastError, row.LastErrorAt = e.msg, e.at
		}
		st.Shards = append(st.Shards, row)
	}
	return st
}

type shardError struct {
	msg string
	at  time.Time
}

// shardErrors live outside the versioned snapshot: request failures are
// frequent and must not bump the topology version.
type shardErrors struct {
	mu sync.RWMutex
	m  map[string]shardError
}

func (e *shardErrors) get(name string) (shardError, bool) {
	if e == nil {
		return shardError{}, false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	v, ok := e.m[name]
	return v, ok
}

// ReportShardError records the outcome of a request to a shard for
// /v1/shards; a nil error clears it.
func (t *Topology) ReportShardError(name string, err error) {
	t.errs.mu.Lock()
	defer t.errs.mu.Unlock()
	if err == nil {
		delete(t.errs.m, name)
		return
	}
	t.errs.m[name] = shardError{msg: err.Error(), at: time.Now()}
}
