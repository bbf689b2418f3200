// Package discovery finds the fleet's shards (static config, Route53
// weighted records, Consul services) and merges them into versioned
// topology snapshots, kept across restarts in a cache file and shared
// between replicas in Consul KV.
//
// It is internal because only Shearch's own assembly (service, devfleet)
// builds a Topology: the Go client and gnife see the topology only as
// api.Topology over HTTP. It imports shards for the Shard type and its
// naming rules, and must never import the engine (search) or the HTTP
// layer (server), which get their shards from it through service.
package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/shearch/shearch/shards"
)

// ShardDefaults fill what discovered shards cannot say about themselves.
type ShardDefaults struct {
	ClientName string
	ClientKey  string
	Timeout    time.Duration
}

// Config says where shards come from. A nil Route53 or Consul means
// that source is not used.
type Config struct {
	Static   []shards.Shard
	Defaults ShardDefaults
	Route53  *Route53Config
	Consul   *ConsulConfig
	// CacheFile keeps the last discovered shards across restarts, so a
	// restart during a Route53 outage still knows the fleet. Empty: no cache.
	CacheFile string
	// Shared, when set, keeps the Route53 shards in Consul KV for the other
	// replicas, and reads theirs when Route53 is down at start (shared.go).
	Shared *SharedConfig
	// ConsulWait is how long one blocking Consul query may wait (5m).
	ConsulWait time.Duration
	// Route53Options tune the SDK client (tests, the dev stand-in).
	Route53Options []func(*route53.Options)
}

type sourceData struct {
	source     shards.Source
	configured bool
	have       bool // shards is known-good data, live or cached
	fromCache  bool
	cacheFrom  string // CacheConsulKV or CacheFile, while fromCache
	shards     []shards.Shard
	health     map[string]shards.Health
	problems   []Problem
	lastOK     time.Time
	lastErr    string
	lastErrAt  time.Time
}

func (d *sourceData) status() SourceStatus {
	st := SourceStatus{Source: d.source, Shards: len(d.shards), LastSuccess: d.lastOK, LastError: d.lastErr,
		LastErrorAt: d.lastErrAt, FromCache: d.fromCache, Cache: d.cacheFrom}
	switch {
	case d.have && d.lastErr == "":
		st.State = "ok"
	case d.have:
		st.State = "stale"
	case d.lastErr != "":
		st.State = "failed"
	default:
		st.State = "pending"
	}
	return st
}

// Topology merges static, Route53 and Consul shards into versioned snapshots.
type Topology struct {
	cfg    Config
	log    *slog.Logger
	r53    *Route53
	consul *Consul
	errs   *shardErrors
	snap   atomic.Pointer[Snapshot]

	mu          sync.Mutex // serializes updates; readers use snap
	r53State    sourceData
	consulState sourceData
	consulIndex uint64
	cached      *cacheFile
	shared      *sharedStore
	sharedCache *cacheFile // what Consul KV held at start
	cacheBytes  []byte
	problemKeys map[string]bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewTopology checks the static shards, builds the sources and reads the
// cache file. It asks no source anything; Start or Refresh do.
func NewTopology(cfg Config, logger *slog.Logger) (*Topology, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.ConsulWait <= 0 {
		cfg.ConsulWait = 5 * time.Minute
	}
	seen := map[string]bool{}
	for i, s := range cfg.Static {
		if !shardNameRE.MatchString(s.Name) {
			return nil, fmt.Errorf("shards.static[%d]: name %q is not a usable shard name", i, s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("shards.static: shard %s is listed twice", s.Name)
		}
		seen[s.Name] = true
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("shards.static: shard %s: url %q is not an http(s) URL", s.Name, s.URL)
		}
		if err := shards.CheckStack(s.Stack, nil); err != nil {
			return nil, fmt.Errorf("shards.static: shard %s: %w", s.Name, err)
		}
	}
	t := &Topology{cfg: cfg, log: logger, errs: &shardErrors{m: map[string]shardError{}},
		r53State: sourceData{source: shards.SourceRoute53}, consulState: sourceData{source: shards.SourceConsul}}
	if cfg.Route53 != nil {
		r, err := NewRoute53(context.Background(), *cfg.Route53, cfg.Route53Options...)
		if err != nil {
			return nil, err
		}
		t.r53, t.r53State.configured = r, true
	}
	if cfg.Consul != nil {
		c, err := NewConsul(*cfg.Consul)
		if err != nil {
			return nil, err
		}
		t.consul, t.consulState.configured = c, true
	}
	if cfg.Shared != nil && cfg.Route53 != nil {
		s, err := newSharedStore(*cfg.Shared)
		if err != nil {
			return nil, err
		}
		t.shared = s
	}
	if cfg.Route53 == nil && cfg.Consul == nil && len(cfg.Static) == 0 {
		return nil, errors.New("no shards: configure shards.static, route53 or consul")
	}
	t.loadCache()
	t.mu.Lock()
	t.rebuildLocked()
	t.mu.Unlock()
	return t, nil
}

// Snapshot returns the current topology; it takes no lock.
func (t *Topology) Snapshot() Snapshot { return *t.snap.Load() }

// Start loads the topology once, then keeps it fresh in the background until
// ctx ends or Close. It fails only when no shard is known at all.
func (t *Topology) Start(ctx context.Context) error {
	t.mu.Lock()
	if t.cancel != nil {
		t.mu.Unlock()
		return errors.New("topology already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	t.mu.Unlock()
	t.loadShared(ctx)
	err := t.Refresh(ctx)
	if len(t.Snapshot().All) == 0 {
		cancel()
		t.mu.Lock()
		t.cancel = nil // the caller may try again, e.g. once Consul is up
		t.mu.Unlock()
		if err == nil {
			err = errors.New("no source reported any shard")
		}
		return fmt.Errorf("no shards known: %w", err)
	}
	if t.r53 != nil {
		t.wg.Go(func() { t.route53Loop(ctx) })
	}
	if t.consul != nil {
		t.wg.Go(func() { t.consulLoop(ctx) })
	}
	if t.shared != nil {
		t.wg.Go(func() { t.shared.writeLoop(ctx, func(msg string, args ...any) { t.log.Warn(msg, args...) }) })
	}
	return nil
}

// Close stops the background refresh and waits for it.
func (t *Topology) Close() {
	t.mu.Lock()
	cancel := t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	t.wg.Wait()
}

// Refresh asks every source now and publishes the result. The error names
// each source that failed; the snapshot keeps their last-known-good.
func (t *Topology) Refresh(ctx context.Context) error {
	var (
		wg                sync.WaitGroup
		r53Shards         []shards.Shard
		r53Problems       []Problem
		r53Err, consulErr error
		consulRes         ConsulResult
	)
	if t.r53 != nil {
		wg.Go(func() { r53Shards, r53Problems, r53Err = t.r53.Discover(ctx) })
	}
	if t.consul != nil {
		wg.Go(func() { consulRes, consulErr = t.consul.Discover(ctx, 0, 0) })
	}
	wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs sourceErrors
	if t.r53 != nil {
		t.recordLocked(&t.r53State, t.r53.String(), r53Shards, nil, r53Problems, r53Err)
		if r53Err != nil {
			errs = append(errs, r53Err)
		}
	}
	if t.consul != nil {
		t.recordConsulLocked(consulRes, consulErr)
		if consulErr != nil {
			errs = append(errs, consulErr)
		}
	}
	t.rebuildLocked()
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// sourceErrors keeps one failure per source on one line, for a log line or
// a CLI message, while errors.Is/As still see each of them.
type sourceErrors []error

func (e sourceErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e sourceErrors) Unwrap() []error { return e }

func (t *Topology) route53Loop(ctx context.Context) {
	every := cmp.Or(t.cfg.Route53.Refresh, time.Minute)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		found, problems, err := t.r53.Discover(ctx)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		t.recordLocked(&t.r53State, t.r53.String(), found, nil, problems, err)
		t.rebuildLocked()
		t.mu.Unlock()
	}
}

// consulLoop follows the shard service with blocking queries, so a health
// change shows up within moments instead of at the next poll.
func (t *Topology) consulLoop(ctx context.Context) {
	const minGap, maxBackoff = 200 * time.Millisecond, 30 * time.Second
	backoff := time.Second
	for ctx.Err() == nil {
		t.mu.Lock()
		idx := t.consulIndex
		t.mu.Unlock()
		began := time.Now()
		res, err := t.consul.Discover(ctx, idx, t.cfg.ConsulWait)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		t.recordConsulLocked(res, err)
		t.rebuildLocked()
		t.mu.Unlock()
		pause := minGap - time.Since(began)
		if err != nil {
			pause, backoff = backoff, min(backoff*2, maxBackoff)
		} else {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

func (t *Topology) recordConsulLocked(res ConsulResult, err error) {
	if err != nil {
		t.consulIndex = 0
	} else if res.Index < t.consulIndex || res.Index == 0 {
		// Consul's rule: an index going backwards (or zero) means start
		// over with a plain read.
		t.consulIndex = 0
	} else {
		t.consulIndex = res.Index
	}
	t.recordLocked(&t.consulState, t.consul.String(), res.Shards, res.Health, res.Problems, err)
}

// recordLocked stores one discovery outcome. A failure keeps what the source
// last said; a source that never answered falls back to the cache file.
func (t *Topology) recordLocked(d *sourceData, name string, found []shards.Shard, health map[string]shards.Health, problems []Problem, err error) {
	now := time.Now()
	if err == nil {
		if d.lastErr != "" {
			t.log.Info("discovery source recovered", "source", name, "shards", len(found))
		}
		d.have, d.fromCache, d.cacheFrom, d.shards, d.health, d.problems = true, false, "", found, health, problems
		d.lastOK, d.lastErr = now, ""
		return
	}
	repeated := d.lastErr == err.Error()
	d.lastErr, d.lastErrAt = err.Error(), now
	if t.useSharedLocked(d, name, err) {
		return
	}
	if !d.have && t.cached != nil {
		d.shards = t.cacheShards(d.source)
		if d.shards != nil {
			d.have, d.fromCache, d.cacheFrom = true, true, CacheFile
			if d.source == shards.SourceConsul {
				d.health = t.cached.ConsulHealth
			}
			t.log.Warn("discovery source unreachable; using cached shards", "source", name, "cache", t.cfg.CacheFile,
				"cached_at", t.cached.UpdatedAt, "shards", len(d.shards), "error", err)
			return
		}
	}
	level := slog.LevelWarn
	if repeated {
		level = slog.LevelDebug
	}
	if d.have {
		t.log.Log(context.Background(), level, "discovery failed; keeping last-known-good", "source", name, "shards", len(d.shards), "error", err)
	} else {
		t.log.Log(context.Background(), level, "discovery failed; nothing known from this source", "source", name, "error", err)
	}
}

// rebuildLocked merges the sources and publishes a new snapshot; the version
// moves only when the shards themselves changed.
func (t *Topology) rebuildLocked() {
	prev := t.snap.Load()
	next := &Snapshot{errs: t.errs}
	if prev != nil {
		next.Version, next.UpdatedAt = prev.Version, prev.UpdatedAt
	} else if t.cached != nil {
		// Continue the cached numbering so versions never repeat across restarts.
		next.Version = t.cached.Version
	}
	var problems []Problem
	next.All, next.origins, problems = t.merge()
	for _, d := range []*sourceData{&t.r53State, &t.consulState} {
		if !d.configured {
			continue
		}
		st := d.status()
		next.Sources = append(next.Sources, st)
		next.Stale = next.Stale || st.State == "stale"
		problems = append(problems, d.problems...)
	}
	next.Problems = problems
	t.logProblems(problems)
	var old []shards.Shard
	if prev != nil {
		old = prev.All
	}
	if changes := diffShards(old, next.All); len(changes) > 0 || prev == nil {
		if len(changes) > 0 || next.Version == 0 {
			next.Version++
		}
		next.UpdatedAt = time.Now()
		if len(changes) > 0 {
			t.log.Info("topology changed", "version", next.Version, "changes", strings.Join(changes, "; "))
		}
	}
	t.snap.Store(next)
	t.writeCacheLocked(next)
	t.offerSharedLocked()
}

// merge applies precedence static > route53 > consul for a shard's place;
// health always comes from Consul, whoever found the shard.
func (t *Topology) merge() ([]shards.Shard, map[string][]shards.Source, []Problem) {
	byName := map[string]*shards.Shard{}
	origins := map[string][]shards.Source{}
	var problems []Problem
	add := func(list []shards.Shard, src shards.Source) {
		for _, s := range list {
			s.Source = src
			cur, ok := byName[s.Name]
			if !ok {
				byName[s.Name] = &s
				origins[s.Name] = []shards.Source{src}
				continue
			}
			origins[s.Name] = append(origins[s.Name], src)
			if cur.Stack != s.Stack {
				problems = append(problems, Problem{Source: src, Where: "merge", Shard: s.Name,
					Problem: fmt.Sprintf("stack %q disagrees with %s's %q; %s wins", s.Stack, cur.Source, cur.Stack, cur.Source)})
			}
			if cur.Weight == nil && s.Weight != nil {
				cur.Weight = s.Weight
			}
		}
	}
	add(t.cfg.Static, shards.SourceStatic)
	if t.r53State.have {
		add(t.r53State.shards, shards.SourceRoute53)
	}
	if t.consulState.have {
		add(t.consulState.shards, shards.SourceConsul)
	}
	d := t.cfg.Defaults
	all := make([]shards.Shard, 0, len(byName))
	for _, s := range byName {
		s.Health = cmp.Or(t.consulState.health[s.Name], shards.HealthUnknown)
		s.ClientName = cmp.Or(s.ClientName, d.ClientName)
		s.ClientKey = cmp.Or(s.ClientKey, d.ClientKey)
		s.Timeout = cmp.Or(s.Timeout, d.Timeout)
		all = append(all, *s)
	}
	slices.SortFunc(all, func(a, b shards.Shard) int { return cmp.Or(cmp.Compare(a.Stack, b.Stack), cmp.Compare(a.Name, b.Name)) })
	return all, origins, problems
}

// diffShards names each difference between two sorted topologies, for the
// change log line.
func diffShards(old, next []shards.Shard) []string {
	before := map[string]shards.Shard{}
	for _, s := range old {
		before[s.Name] = s
	}
	var out []string
	for _, n := range next {
		o, ok := before[n.Name]
		delete(before, n.Name)
		if !ok {
			w := ""
			if n.Weight != nil {
				w = fmt.Sprintf(", weight %d", *n.Weight)
			}
			out = append(out, fmt.Sprintf("added %s (stack %s, %s, %s, health %s%s)", n.Name, n.Stack, n.Source, n.URL, n.Health, w))
			continue
		}
		var d []string
		if o.URL != n.URL {
			d = append(d, "url "+o.URL+" -> "+n.URL)
		}
		if o.Stack != n.Stack {
			d = append(d, "stack "+o.Stack+" -> "+n.Stack)
		}
		if o.Source != n.Source {
			d = append(d, fmt.Sprintf("source %s -> %s", o.Source, n.Source))
		}
		if w1, w2 := weightText(o.Weight), weightText(n.Weight); w1 != w2 {
			d = append(d, fmt.Sprintf("weight%s ->%s", cmp.Or(w1, " none"), cmp.Or(w2, " none")))
		}
		if o.Health != n.Health {
			d = append(d, fmt.Sprintf("health %s -> %s", o.Health, n.Health))
		}
		if len(d) > 0 {
			out = append(out, n.Name+": "+strings.Join(d, ", "))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(before)) {
		out = append(out, fmt.Sprintf("removed %s (stack %s)", name, before[name].Stack))
	}
	return out
}

func weightText(w *int64) string {
	if w == nil {
		return ""
	}
	return fmt.Sprintf(" %d", *w)
}

// logProblems logs discovery problems when they appear and when they clear,
// not on every refresh.
func (t *Topology) logProblems(problems []Problem) {
	now := map[string]bool{}
	var added []string
	for _, p := range problems {
		k := p.String()
		now[k] = true
		if !t.problemKeys[k] {
			added = append(added, k)
		}
	}
	var cleared []string
	for k := range t.problemKeys {
		if !now[k] {
			cleared = append(cleared, k)
		}
	}
	if len(added) > 0 {
		t.log.Warn("discovery problems", "new", strings.Join(added, "; "))
	}
	if len(cleared) > 0 {
		slices.Sort(cleared)
		t.log.Info("discovery problems cleared", "cleared", strings.Join(cleared, "; "))
	}
	t.problemKeys = now
}
