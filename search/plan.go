package search

import (
	"encoding/json"
	"sort"
	"sync"

	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/query"
	"github.com/shearch/shearch/search/result"
	"github.com/shearch/shearch/shards"
)

// plan is one search request settled once, before any shard is asked:
// the query parsed, what that query asks of the shards, the shards asked
// and their clients, and the key identical requests share. Everything
// after works from it: a query used to be parsed up to six times a
// request, and shards looked up by name three ways.
type plan struct {
	Request
	// parsed is the query; nil when it does not parse and CheckQueries is
	// off (the shards then judge it), with parseErr saying why.
	parsed   *query.Query
	parseErr error
	// matchAll is `*:*` or its equivalent: every copy of every node is in
	// the answer, so no separate look-up of the nodes several shards hold.
	matchAll bool
	// names, for a partial node search of names alone over `*:*`, builds
	// a row's data from its name: the shards' node lists answer it.
	names func(name string) json.RawMessage
	// key identifies what the whole answer depends on (requestKey).
	key string

	// targets and clients are the shards asked, resolved by resolve; mu
	// orders that against a shared page fill using the same plan.
	mu      sync.Mutex
	targets []shards.Shard
	clients map[string]*shards.Client
}

// parseQuery is query.Parse; a test counts the parses of a request.
var parseQuery = query.Parse

// newPlan checks req and parses its query, once.
func (e *Engine) newPlan(req Request) (*plan, error) {
	if err := e.check(&req); err != nil {
		return nil, err
	}
	p := &plan{Request: req}
	p.parsed, p.parseErr = parseQuery(req.Query)
	if p.parseErr != nil && e.CheckQueries {
		return nil, fault.Errorf(fault.BadRequest, "%v", p.parseErr)
	}
	p.matchAll = req.Query == "*:*" || p.parsed != nil && p.parsed.IsMatchAll()
	p.names = namesOnly(p)
	p.key = requestKey(e, req)
	return p, nil
}

// resolve finds the shards the plan asks and their clients. A client
// that cannot be made is left out here and fails its shard alone in the
// fan-out (clientOf), as a shard that cannot be reached does.
func (p *plan) resolve(e *Engine) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.targets != nil {
		return nil
	}
	targets, err := e.Targets(p.Stack, p.Shards)
	if err != nil {
		return err
	}
	p.targets = targets
	p.clients = make(map[string]*shards.Client, len(targets))
	for _, s := range targets {
		if c, err := e.Client(s); err == nil {
			p.clients[s.Name] = c
		}
	}
	return nil
}

// clientOf is the plan's client of shard s, made anew only when resolve
// could not make it (so the fan-out reports that shard's error).
func (p *plan) clientOf(e *Engine) func(shards.Shard) (*shards.Client, error) {
	return func(s shards.Shard) (*shards.Client, error) {
		if c, ok := p.clients[s.Name]; ok {
			return c, nil
		}
		return e.Client(s)
	}
}

// client is the plan's client of the shard named shard, for rows its
// fan-out (or the cached answer it reuses) brought.
func (p *plan) client(e *Engine, shard string) (*shards.Client, error) {
	if c, ok := p.clients[shard]; ok {
		return c, nil
	}
	for _, s := range p.targets {
		if s.Name == shard {
			return e.Client(s) // its client could not be made: say why
		}
	}
	return nil, fault.Errorf(fault.ShardsFailed, "shard %s left the topology while paging; retry", shard)
}

// fanOpts are the engine's fan-out options with the plan's clients.
func (p *plan) fanOpts(e *Engine) fanout.Options {
	o := e.FanOptions()
	o.Client = p.clientOf(e)
	return o
}

// namesOnly returns, for a partial node search of `*:*` that asks for
// nothing but names (knife search node '*:*' -i), how each row's data is
// made; nil otherwise. A shard answers it from its node list: Chef Server reads the
// list from one table, where a search of every node reads and filters
// every node object (goiardi: about 48 ms of CPU per 400 nodes, against
// 3 ms for the list). Only the ohai_time of nodes several shards hold is
// then needed: gathered.nextRow reads it for those alone. One difference:
// a server whose search index lags its database lists a node saved a
// moment ago that its search does not find yet.
func namesOnly(p *plan) func(name string) json.RawMessage {
	if p.Index != "node" || len(p.Partial) == 0 || !p.matchAll {
		return nil
	}
	keys := make([]string, 0, len(p.Partial))
	for k, path := range p.Partial {
		if len(path) != 1 || path[0] != "name" {
			return nil
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return func(name string) json.RawMessage {
		b := []byte{'{'}
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = result.AppendJSONString(b, k)
			b = append(b, ':')
			b = result.AppendJSONString(b, name)
		}
		return append(b, '}')
	}
}
