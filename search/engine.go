package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shearch/shearch/internal/extsort"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/internal/flight"
	"github.com/shearch/shearch/query"
	"github.com/shearch/shearch/shards"
)

// ShardLister gives the shards of a stack ("all" for every stack). The
// topology implements it; tests can pass a fixed list.
type ShardLister interface {
	Shards(stack string) []shards.Shard
}

// StaticShards is a fixed ShardLister.
type StaticShards []shards.Shard

// Shards returns the shards of stack, or all of them for "all" or "".
func (s StaticShards) Shards(stack string) []shards.Shard {
	var out []shards.Shard
	for _, sh := range s {
		if stack == "" || stack == "all" || sh.Stack == stack {
			out = append(out, sh)
		}
	}
	return out
}

// Config holds the engine's bounds and choices. New fills every zero
// field with its default, once (withDefaults): the engine reads them
// as they are.
type Config struct {
	DefaultStack string
	// Concurrency bounds the shards asked at once (default 16).
	Concurrency int
	// Timeout per shard request, when the shard has none of its own
	// (default DefaultTimeout).
	Timeout time.Duration
	// CheckQueries refuses a query Chef's grammar refuses (400) before
	// any shard is asked; without it the shards judge such a query. A
	// request's query is parsed once either way (plan.go).
	CheckQueries bool
	// PageSize is the page size used against each shard (0: the shard
	// client's own).
	PageSize int
	// FirstPageBytes bounds the whole objects a first fan-out holds, over
	// all shards (default 16 MiB): a shard whose first page would pass
	// its share is read names first instead.
	FirstPageBytes int
	// FetchChunk is how many names one object fetch asks a shard for
	// (default 200): a name:(a OR b ...) query must fit a URL.
	FetchChunk int
	// FetchByGet reads a page's objects with one GET per node instead of
	// name:(a OR b ...) searches. Chef Server answers such a search from
	// its index at once; goiardi evaluates each term over every object
	// (measured here: 160 ms a name over 1,500 nodes, against about 1 ms
	// a GET), so its fleets read faster node by node.
	FetchByGet bool
	// OrderTTL is how long a merged order is reused by the next pages
	// of the same query (default 30s; negative turns it off), and
	// OrderBytes bounds the orders kept (default 64 MiB).
	OrderTTL   time.Duration
	OrderBytes int
	// SortBytes bounds the rows a stream in name order holds in memory
	// (default 1 MiB); past it they are sorted in runs in a temporary
	// file in SpillDir (default the system's), at most SpillBytes of
	// it (default 4 GiB).
	SortBytes  int
	SpillBytes int64
	SpillDir   string
	// SpillTotalBytes bounds the runs of all requests together (default
	// 8 GiB; internal/extsort.Budget).
	SpillTotalBytes int64
	// MaxAnswerBytes bounds each shard answer (0: the shards default).
	MaxAnswerBytes int64
	// MaxRows and MaxPageBytes bound one page of Search (default 10,000
	// rows and 64 MiB): past them the answer is a 413 (bounds.go).
	MaxRows      int
	MaxPageBytes int64
}

// DefaultTimeout is a shard request's time when neither the shard nor
// the Config names one; a request as a whole gets requestTimeouts of it.
const (
	DefaultTimeout     = 10 * time.Second
	defaultConcurrency = 16
	requestTimeouts    = 6
)

// withDefaults is c with every zero bound at its default: the one place
// the engine's defaults live.
func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = defaultConcurrency
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.FirstPageBytes <= 0 {
		c.FirstPageBytes = defaultFirstPageBytes
	}
	if c.FetchChunk <= 0 {
		c.FetchChunk = defaultFetchChunk
	}
	if c.OrderTTL == 0 {
		c.OrderTTL = defaultOrderTTL
	}
	if c.OrderBytes <= 0 {
		c.OrderBytes = defaultOrderBytes
	}
	if c.MaxRows <= 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = DefaultMaxPageBytes
	}
	return c
}

// Deps are what the engine works with but does not own.
type Deps struct {
	// Topology lists the shards; required.
	Topology ShardLister
	// Fallback answers node queries for a shard that failed; nil is none.
	Fallback Fallback
	// Cache keeps merged answers briefly; nil or a zero TTL is off.
	Cache *Cache
	// Guards bound what all requests together send to each shard; nil
	// uses shards.DefaultGuardConfig.
	Guards *shards.Guards
	// Log hears shard failures; nil is slog.Default.
	Log *slog.Logger
	// OnShardResult hears every shard request's outcome (nil error for a
	// success), so the topology can show each shard's last error.
	OnShardResult func(shard string, err error)
	// Registerer, when set, gets the engine's metrics and the guards'.
	Registerer prometheus.Registerer
}

// Engine runs federated searches. Make it with New.
type Engine struct {
	Config
	Deps

	owners  ownersCache
	orders  *Cache
	clients sync.Map // clientKey -> *shards.Client
	shared  flight.Group
	metrics engineMetrics
	spill   *extsort.Budget
}

// New makes an engine of cfg, its zero bounds at their defaults, over
// deps, registering its metrics on deps.Registerer when one is given.
func New(cfg Config, deps Deps) (*Engine, error) {
	if deps.Topology == nil {
		return nil, errors.New("search: no topology: the engine needs its shards (Deps.Topology)")
	}
	e := &Engine{Config: cfg.withDefaults(), Deps: deps}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	if e.Guards == nil {
		e.Guards = shards.NewGuards(shards.DefaultGuardConfig, e.Log)
	}
	e.orders = &Cache{TTL: e.OrderTTL, MaxBytes: e.OrderBytes}
	e.spill = extsort.NewBudget(e.SpillTotalBytes)
	e.metrics.init(e)
	if deps.Registerer != nil {
		for _, c := range e.Collectors() {
			if err := deps.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("search: registering the engine's metrics: %w", err)
			}
		}
	}
	return e, nil
}

// MustNew is New for tests and wiring whose Config is a literal: it
// panics where New would fail.
func MustNew(cfg Config, deps Deps) *Engine {
	e, err := New(cfg, deps)
	if err != nil {
		panic(err)
	}
	return e
}

// Fallback answers a node query for the nodes of failed shards.
type Fallback interface {
	// Nodes returns the rows of the nodes registered on shard that match
	// query, and the query fields it could not check.
	// q is the request's query as the engine parsed it, once.
	Nodes(ctx context.Context, shard string, q *query.Query, partial map[string][]string) (rows []shards.Row, unchecked []string, err error)
}

// Stack resolves the stack a request is for.
func (e *Engine) Stack(s string) string {
	if s == "" {
		s = e.DefaultStack
	}
	if s == "" {
		s = "all"
	}
	return s
}

// Targets lists the shards a request goes to, pruned by stack and name.
func (e *Engine) Targets(stack string, names []string) ([]shards.Shard, error) {
	stack = e.Stack(stack)
	if stack != "all" {
		if err := shards.CheckStack(stack, nil); err != nil {
			return nil, fault.Errorf(fault.BadRequest, "%v", err)
		}
	}
	all := e.Topology.Shards(stack)
	if len(all) == 0 {
		return nil, fault.Errorf(fault.Unavailable, "no shards known for stack %q: check the shards, route53 and consul settings (GET /v1/shards)", stack)
	}
	if len(names) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []shards.Shard
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for n := range want {
			unknown = append(unknown, n)
		}
		sort.Strings(unknown)
		return nil, fault.Errorf(fault.BadRequest, "unknown shard(s) %s in stack %q: see GET /v1/shards", strings.Join(unknown, ", "), stack)
	}
	return out, nil
}

// Client returns the cached signed client of a shard.
func (e *Engine) Client(s shards.Shard) (*shards.Client, error) {
	if s.Timeout == 0 {
		s.Timeout = e.Timeout
	}
	key := strings.Join([]string{s.Name, s.URL, s.ClientName, s.ClientKey, s.Timeout.String(), s.CAFile}, "\x00")
	if c, ok := e.clients.Load(key); ok {
		return c.(*shards.Client), nil
	}
	// A miss is a new shard or a changed one: drop the clients of shards
	// that left the topology or changed (URL, key), so a long-running
	// Shearch does not keep every shard it ever knew.
	e.pruneClients(s)
	c, err := shards.NewClient(s)
	if err != nil {
		return nil, err
	}
	if e.PageSize > 0 {
		c.PageSize = e.PageSize
	}
	c.MaxAnswerBytes = e.MaxAnswerBytes
	c.Guard = e.Guards.For(s.Name)
	e.clients.Store(key, c)
	return c, nil
}

// pruneClients drops the clients of shards no longer in the topology,
// and those of s's name made for another URL, key or timeout.
func (e *Engine) pruneClients(s shards.Shard) {
	current := map[string]bool{}
	for _, t := range e.Topology.Shards("all") {
		current[t.Name] = true
	}
	e.clients.Range(func(k, v any) bool {
		name := v.(*shards.Client).Shard.Name
		if !current[name] || name == s.Name {
			e.clients.Delete(k)
		}
		return true
	})
}

// FanOptions are the engine's bounds and health hook for a fan-out,
// which writes and drift use too: one bound per shard for all of them.
func (e *Engine) FanOptions() fanout.Options {
	return fanout.Options{Limit: e.Concurrency, Timeout: e.Timeout, Client: e.Client, OnShardResult: e.OnShardResult}
}

// The answer codes of a Chef server the engine acts on: data a shard
// sent, never a status Shearch answers with (only server/ picks those).
const (
	chefNotFound = 404
)

// methodGet is how the shard client spells the one method reads send.
const methodGet = "GET"

// Search runs a federated search: validate once, fan out (shared with
// identical concurrent requests, and cached when enabled), merge, page.
func (e *Engine) Search(ctx context.Context, r Request) (*Result, error) {
	req, err := e.newPlan(r)
	if err != nil {
		return nil, err
	}
	// One ticket for the whole request: once it has a merged answer, or
	// any slot, what it still asks of the shards (the page's objects)
	// goes ahead of requests not yet started.
	ctx = shards.WithTicket(ctx)
	if err := e.checkRows(req.Request); err != nil {
		return nil, err
	}
	m, cached, err := e.answer(ctx, req)
	if err != nil {
		return nil, err
	}
	shards.Admit(ctx)
	n := m.ord.len()
	rows := req.Rows
	if rows == 0 && e.MaxRows < shards.DefaultPageSize {
		// Rows left out is Chef's default page, which search.max_rows
		// bounds as it bounds any other.
		rows = e.MaxRows
	}
	lo, hi := window(n, req.Start, rows)
	if req.Cursor != "" {
		after, err := decodeCursor(req.Cursor)
		if err != nil {
			return nil, err
		}
		// Keyset paging: the next page starts after the last name seen,
		// so rows added or removed meanwhile never shift it.
		lo, hi = window(n, m.ord.after(after), rows)
	}
	res := &Result{Total: n, Start: req.Start, Shards: m.shards, Cached: cached}
	// Rows of shards that had more than a page carry names only: their
	// objects are read now, for this page alone.
	pctx, err := e.withPageBudget(ctx, m, lo, hi)
	if err != nil {
		return nil, err
	}
	pg, err := e.pageObjects(pctx, req, m, lo, hi)
	if err != nil {
		return nil, err
	}
	if req.Partial != nil {
		withURL := e.rowURLs(req)
		for i := range pg {
			withURL(&pg[i])
		}
	}
	res.Rows = pg
	res.Duplicates, res.DuplicatesTotal = m.pageDuplicates(pg, req.Start == 0 && req.Cursor == "")
	if len(pg) > 0 && hi < n {
		res.NextCursor = encodeCursor(pg[len(pg)-1].Name)
	}
	return res, nil
}

func (e *Engine) check(req *Request) error {
	if req.Index == "" {
		return fault.Errorf(fault.BadRequest, "no index given: use node, role, client, environment or a data bag name")
	}
	if err := shards.CheckIndex(req.Index); err != nil {
		return fault.Errorf(fault.BadRequest, "%v", err)
	}
	if req.Query == "" {
		req.Query = "*:*"
	}
	if req.Start < 0 || req.Rows < 0 {
		return fault.Errorf(fault.BadRequest, "start and rows must be non-negative integers")
	}
	return nil
}

// fallBack asks the fallback for the nodes of each failed shard of
// answers, marks those shards as answered by it, and returns its rows.
func fallBack[T any](ctx context.Context, e *Engine, req *plan, answers []fanout.Answer[T]) []Row {
	// partial=deny wants Chef's whole answer or a 502 naming the failed
	// shards: Consul rows would be thrown away, and a shard marked
	// fallback would drop out of that 502's message.
	if req.PartialDeny {
		return nil
	}
	var out []Row
	for i := range answers {
		a := &answers[i]
		if a.Err == nil {
			continue
		}
		// A query that does not parse (CheckQueries off) fails the
		// fallback with the parser's reason, as Consul cannot judge it.
		var rows []shards.Row
		var unchecked []string
		err := req.parseErr
		if req.parsed != nil {
			rows, unchecked, err = e.Fallback.Nodes(ctx, a.Shard.Name, req.parsed, req.Partial)
		}
		if err != nil {
			a.Status.Error = fmt.Sprintf("%s; fallback failed: %v", a.Status.Error, err)
			continue
		}
		for _, r := range rows {
			out = append(out, rowFrom(r, a.Shard.Name, SourceConsul))
		}
		e.metrics.addFallbackRows(len(rows))
		a.Status.Status = StatusFallback
		a.Status.Rows = len(rows)
		a.Status.FallbackRows = len(rows)
		a.Status.Unchecked = unchecked
	}
	return out
}

// rowFrom is a shard's row as the engine answers it.
func rowFrom(r shards.Row, shard, source string) Row {
	return Row{Name: r.Name, Shard: shard, Source: source, URL: r.URL, Data: r.Data, Ohai: r.Ohai}
}
