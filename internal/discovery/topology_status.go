package discovery

import (
	"sync"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/shards"
)

// What /v1/shards shows is the client's wire types.
type (
	SourceStatus = api.SourceStatus
	ShardStatus  = api.TopologyShard
	Status       = api.Topology
)

// Snapshot is one immutable version of the topology.
type Snapshot struct {
	Version   uint64
	UpdatedAt time.Time
	// All holds every shard, sorted by stack then name.
	All      []shards.Shard
	Sources  []SourceStatus
	Problems []Problem
	// Stale is true while any source is served from last-known-good.
	Stale bool

	origins map[string][]shards.Source
	errs    *shardErrors
}

// Shards returns the shards of one stack; "all" means every stack.
func (s Snapshot) Shards(stack string) []shards.Shard {
	var out []shards.Shard
	for _, sh := range s.All {
		if stack == "all" || sh.Stack == stack {
			out = append(out, sh)
		}
	}
	return out
}

// Shard finds a shard by name.
func (s Snapshot) Shard(name string) (shards.Shard, bool) {
	for _, sh := range s.All {
		if sh.Name == name {
			return sh, true
		}
	}
	return shards.Shard{}, false
}

// Status is the snapshot as /v1/shards shows it, with each shard's last
// request error as reported through Topology.ReportShardError.
func (s Snapshot) Status() Status {
	st := Status{Version: s.Version, UpdatedAt: s.UpdatedAt, AgeSeconds: time.Since(s.UpdatedAt).Seconds(),
		Stale: s.Stale, Shards: []ShardStatus{}, Sources: s.Sources, Problems: s.Problems}
	if st.Problems == nil {
		st.Problems = []Problem{}
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
