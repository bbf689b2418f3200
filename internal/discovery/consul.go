package discovery

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/shards"
)

// DefaultShardService is the Consul service Chef servers register as.
const DefaultShardService = "chef-server"

// DefaultShardTag is the tag a Consul service needs to be a shard.
const DefaultShardTag = "shearch"

// ConsulConfig is the part of the `consul` section discovery uses.
type ConsulConfig struct {
	// Address is the agent's HTTP API, host:port. Empty: the consul/api
	// defaults (CONSUL_HTTP_ADDR, else 127.0.0.1:8500).
	Address      string
	ShardService string
	// ShardTag must be on an instance for it to be a shard: anyone who can
	// register a service must not receive admin-signed requests by it.
	// Empty: DefaultShardTag.
	ShardTag string
	// ShardScheme is how shards found here are reached: "https" (the
	// default, when empty) or "http".
	ShardScheme string
	// Timeout bounds a non-blocking query; a blocking query gets its wait
	// time on top of it.
	Timeout time.Duration
	// Trust is what a tagged instance must also satisfy (consultrust.go).
	Trust ConsulTrust
}

// ConsulResult is one read of the shard service.
type ConsulResult struct {
	Shards []shards.Shard
	// Health is by shard name, for every instance carrying a shard: tag, so
	// shards found elsewhere (Route53, static) get Consul's view too.
	Health   map[string]shards.Health
	Problems []Problem
	// Index is Consul's X-Consul-Index: pass it back as waitIndex to block
	// until the service changes.
	Index uint64
}

// Consul discovers shards, and their health, from Consul.
type Consul struct {
	cfg    ConsulConfig
	client *consulapi.Client
}

// NewConsul builds the client; it makes no request.
func NewConsul(cfg ConsulConfig) (*Consul, error) {
	if cfg.ShardService == "" {
		cfg.ShardService = DefaultShardService
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ShardTag == "" {
		cfg.ShardTag = DefaultShardTag
	}
	switch cfg.ShardScheme {
	case "":
		cfg.ShardScheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("consul.shard_scheme %q: use https or http", cfg.ShardScheme)
	}
	ac := consulapi.DefaultConfig()
	if cfg.Address != "" {
		ac.Address = cfg.Address
	}
	cfg.Address = ac.Address
	c, err := consulapi.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("consul: %w", err)
	}
	return &Consul{cfg: cfg, client: c}, nil
}

func (c *Consul) String() string {
	return "consul service " + c.cfg.ShardService + " at " + c.cfg.Address
}

// Discover reads the shard service. With waitIndex > 0 it is a blocking
// query: it returns when the service changes past that index or after wait.
// Stale reads are allowed: any server's view is good enough for discovery,
// and it keeps working while the cluster has no leader.
func (c *Consul) Discover(ctx context.Context, waitIndex uint64, wait time.Duration) (ConsulResult, error) {
	timeout := c.cfg.Timeout
	q := &consulapi.QueryOptions{AllowStale: true}
	if waitIndex > 0 {
		q.WaitIndex, q.WaitTime = waitIndex, wait
		// Consul adds up to wait/16 of jitter to a blocking query.
		timeout += wait + wait/16
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Only tagged instances are asked for: an untagged one is not a shard,
	// and its health says nothing Shearch may act on.
	entries, meta, err := c.client.Health().Service(c.cfg.ShardService, c.cfg.ShardTag, false, q.WithContext(ctx))
	if err != nil {
		return ConsulResult{}, fmt.Errorf("%s: %w", c, err)
	}
	res := ConsulResult{Health: map[string]shards.Health{}, Index: meta.LastIndex}
	slices.SortFunc(entries, func(a, b *consulapi.ServiceEntry) int {
		return cmp.Or(cmp.Compare(nodeName(a), nodeName(b)), cmp.Compare(a.Service.ID, b.Service.ID))
	})
	kept := map[string]bool{}
	for _, e := range entries {
		where := nodeName(e) + "/" + e.Service.ID
		sh, problem := c.toShard(e)
		if problem != "" {
			res.Problems = append(res.Problems, Problem{Source: shards.SourceConsul, Where: where, Shard: sh.Name, Problem: problem})
			// An instance too broken to be a shard still says how its
			// shard is doing, which matters when Route53 found that shard.
			if _, known := res.Health[sh.Name]; !known && shardNameRE.MatchString(sh.Name) && sh.Health != "" {
				res.Health[sh.Name] = sh.Health
			}
			continue
		}
		if kept[sh.Name] {
			res.Problems = append(res.Problems, Problem{Source: shards.SourceConsul, Where: where, Shard: sh.Name,
				Problem: "another instance already registered this shard; skipped"})
			continue
		}
		kept[sh.Name] = true
		res.Health[sh.Name] = sh.Health
		res.Shards = append(res.Shards, sh)
	}
	return res, nil
}

// HealthOf gives Consul's health for each named shard; names Consul does not
// know are HealthUnknown.
func (c *Consul) HealthOf(ctx context.Context, names []string) (map[string]shards.Health, error) {
	res, err := c.Discover(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]shards.Health, len(names))
	for _, n := range names {
		out[n] = cmp.Or(res.Health[n], shards.HealthUnknown)
	}
	return out, nil
}

func nodeName(e *consulapi.ServiceEntry) string {
	if e.Node == nil {
		return ""
	}
	return e.Node.Node
}

// toShard reads one instance. A shard with a bad stack still returns its name
// so the problem can say which shard it is.
func (c *Consul) toShard(e *consulapi.ServiceEntry) (shards.Shard, string) {
	var name, stack string
	var tagProblems []string
	for _, t := range e.Service.Tags {
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		switch k {
		case "shard":
			if name != "" && name != v {
				tagProblems = append(tagProblems, fmt.Sprintf("two shard tags (%q, %q)", name, v))
			}
			name = v
		case "stack":
			if stack != "" && stack != v {
				tagProblems = append(tagProblems, fmt.Sprintf("two stack tags (%q, %q)", stack, v))
			}
			stack = v
		}
	}
	sh := shards.Shard{Name: name, Stack: stack, Source: shards.SourceConsul, Health: consulHealth(e.Checks)}
	switch {
	case !slices.Contains(e.Service.Tags, c.cfg.ShardTag):
		// Consul filtered on the tag already; this holds if it did not.
		return sh, fmt.Sprintf("no %s tag (consul.shard_tag); skipped", c.cfg.ShardTag)
	case len(tagProblems) > 0:
		return sh, strings.Join(tagProblems, ", ") + "; skipped"
	case name == "":
		return sh, "no shard:<name> tag; skipped"
	case !shardNameRE.MatchString(name):
		return sh, fmt.Sprintf("shard tag %q is not usable as a shard name; skipped", name)
	}
	if err := shards.CheckStack(stack, nil); err != nil {
		return sh, err.Error() + " (tag stack:<stack>); skipped"
	}
	addr := e.Service.Address
	if addr == "" && e.Node != nil {
		// Consul's own rule: a service without an address is on its node's.
		addr = e.Node.Address
	}
	if addr == "" || e.Service.Port <= 0 {
		return sh, "service has no address or port; skipped"
	}
	// Whoever registers the service chooses the address, and Shearch signs
	// admin requests to it: only a bare IP or host name may become the
	// URL's host, never userinfo (@), a path, a port or a query.
	if net.ParseIP(addr) == nil && !validHostName(addr) {
		return sh, fmt.Sprintf("address %q is neither an IP address nor a host name; skipped", addr)
	}
	if problem := c.cfg.Trust.check(name, addr); problem != "" {
		// Nor does an untrusted instance speak for the health of a shard
		// found elsewhere: it could mark any shard critical.
		sh.Health = ""
		return sh, problem
	}
	sh.URL = c.cfg.ShardScheme + "://" + net.JoinHostPort(addr, strconv.Itoa(e.Service.Port))
	sh.CAFile = c.cfg.Trust.CAFile
	return sh, ""
}

// consulHealth maps Consul's aggregate to ours; maintenance counts as
// critical because the operator took the shard out on purpose.
func consulHealth(checks consulapi.HealthChecks) shards.Health {
	switch checks.AggregatedStatus() {
	case consulapi.HealthPassing:
		return shards.HealthPassing
	case consulapi.HealthWarning:
		return shards.HealthWarning
	case consulapi.HealthCritical, consulapi.HealthMaint:
		return shards.HealthCritical
	}
	return shards.HealthUnknown
}
