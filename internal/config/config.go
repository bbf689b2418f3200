// Package config reads Shearch's YAML configuration file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole file; see DESIGN.md for every key.
type Config struct {
	Listen string `yaml:"listen"`
	// PublicURL is how clients reach Shearch, for object URLs in answers
	// (as behind a load balancer); empty uses each request's Host.
	PublicURL    string  `yaml:"public_url"`
	DefaultStack string  `yaml:"default_stack"`
	Auth         Auth    `yaml:"auth"`
	Shards       Shards  `yaml:"shards"`
	Route53      Route53 `yaml:"route53"`
	Consul       Consul  `yaml:"consul"`
	// CacheFile keeps the last-known-good topology across restarts.
	CacheFile string `yaml:"cache_file"`
	Search    Search `yaml:"search"`
	Server    Server `yaml:"server"`
	TLS       TLS    `yaml:"tls"`
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight requests.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// Consistency bounds the drift scan (GET /v1/consistency).
	Consistency Consistency `yaml:"consistency"`
	// ShutdownDelay is how long a SIGTERM'd Shearch keeps serving, with
	// /readyz at 503 and out of Consul, so load balancers stop sending to
	// it before it stops accepting. Zero stops accepting at once.
	ShutdownDelay Duration `yaml:"shutdown_delay"`
	Replica       Replica  `yaml:"replica"`
}

// Replica makes Shearch one of several behind a load balancer (package
// replica): it registers in Consul and takes a share of the fleet-wide
// shard bounds.
type Replica struct {
	// Advertise is HOST:PORT where Consul's check and the other replicas
	// reach this one; empty runs alone.
	Advertise string `yaml:"advertise"`
	// Service is the Consul service the replicas register as.
	Service string `yaml:"service"`
	// CheckInterval is how often Consul checks /readyz; a replica that dies
	// leaves the others' count within about two of them.
	CheckInterval Duration `yaml:"check_interval"`
}

// Server bounds what one client may cost (see limits.go).
type Server struct {
	ReadTimeout  Duration `yaml:"read_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
	MaxBodyBytes Bytes    `yaml:"max_body_bytes"`
	// TrustedProxies are the CIDRs of the proxies whose Host and
	// X-Forwarded-Proto headers may make the URLs in answers when
	// public_url is empty; from anyone else they are ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MetricsAuth is none (the default: /metrics is open, as scrapers
	// expect) or token (it needs credentials like the API).
	MetricsAuth string `yaml:"metrics_auth"`
}

// TLS makes Shearch serve HTTPS: both files, or neither.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Auth says who may read and who may write; empty, anyone reads.
type Auth struct {
	// TokensFile: a bearer token a line, "TOKEN" (read) or "TOKEN write".
	TokensFile string `yaml:"tokens_file"`
	// ChefKeysDir holds NAME.pem public keys: Chef-signed requests
	// (X-Ops-Sign 1.0, 1.1, 1.3) authenticate as NAME.
	ChefKeysDir string `yaml:"chef_keys_dir"`
	// Writers are the Chef-signed names that may write; SIGHUP re-reads
	// them from the config file.
	Writers []string `yaml:"writers"`
	// ReplayCacheSize bounds the Chef-signed write signatures remembered
	// for the 15-minute skew window, to refuse a second use.
	ReplayCacheSize int `yaml:"replay_cache_size"`
}

// Shards holds the defaults and the hand-listed shards.
type Shards struct {
	Timeout    Duration      `yaml:"timeout"`
	ClientName string        `yaml:"client_name"`
	ClientKey  string        `yaml:"client_key"`
	Static     []StaticShard `yaml:"static"`
	// MaxAnswerBytes bounds one shard's answer to one request.
	MaxAnswerBytes Bytes `yaml:"max_answer_bytes"`
	// MaxInFlight bounds the requests open to one shard, all client
	// requests together.
	MaxInFlight int `yaml:"max_in_flight"`
	// BreakerFailures consecutive connection failures or timeouts open a
	// shard's breaker; BreakerInterval later one probe goes through.
	BreakerFailures int      `yaml:"breaker_failures"`
	BreakerInterval Duration `yaml:"breaker_interval"`
	// RetryBudget is the share of extra requests retries may add.
	RetryBudget float64 `yaml:"retry_budget"`
}

// StaticShard is one shard listed by hand.
type StaticShard struct {
	Name       string `yaml:"name"`
	URL        string `yaml:"url"`
	Stack      string `yaml:"stack"`
	ClientName string `yaml:"client_name"`
	ClientKey  string `yaml:"client_key"`
}

// Route53 says where the weighted record sets are.
type Route53 struct {
	Endpoint    string          `yaml:"endpoint"`
	Region      string          `yaml:"region"`
	ZoneID      string          `yaml:"zone_id"`
	Records     []Route53Record `yaml:"records"`
	URLTemplate string          `yaml:"url_template"`
	Refresh     Duration        `yaml:"refresh"`
}

// Route53Record is one weighted record set and the stack it feeds.
type Route53Record struct {
	Name  string `yaml:"name"`
	Stack string `yaml:"stack"`
}

// Consul says where Consul is and what it is used for.
type Consul struct {
	Address      string `yaml:"address"`
	ShardService string `yaml:"shard_service"`
	// ShardTag must be on a service for it to become a shard: being
	// registered in Consul is not enough to receive admin-signed requests.
	ShardTag string `yaml:"shard_tag"`
	// ShardScheme is how discovered shards are reached: https or http.
	ShardScheme  string `yaml:"shard_scheme"`
	NodeFallback bool   `yaml:"node_fallback"`
	// Whoever can register a service picks its tags, so a tagged service
	// must also be named as a shard should be and live where shards live
	// (internal/discovery/consultrust.go); empty lists admit no Consul shard.
	ShardNames    []string `yaml:"shard_names"`
	ShardNetworks []string `yaml:"shard_networks"`
	// ShardCAFile is the CA (PEM) a Consul shard's TLS must chain to.
	ShardCAFile string `yaml:"shard_ca_file"`
}

// Search tunes the engine.
type Search struct {
	Concurrency int      `yaml:"concurrency"`
	CacheTTL    Duration `yaml:"cache_ttl"`
	CacheSize   int      `yaml:"cache_size"`
	// MaxQueryBytes bounds q.
	MaxQueryBytes Bytes `yaml:"max_query_bytes"`
	// MaxWaiting requests may queue for a shard slot, each for MaxWait
	// at most; past either, the request is shed with 429 (503).
	MaxWaiting int      `yaml:"max_waiting"`
	MaxWait    Duration `yaml:"max_wait"`
	// RetryAfterMin and RetryAfterMax bound the Retry-After of a shed
	// request (1s and 30s); between them it is the time the queue ahead
	// takes at the shard's recent pace, spread by up to half again.
	RetryAfterMin Duration `yaml:"retry_after_min"`
	RetryAfterMax Duration `yaml:"retry_after_max"`
	// CacheBytes bounds the cached answers in bytes (0: 64 MiB).
	CacheBytes Bytes `yaml:"cache_bytes"`
	// OrderTTL is how long later pages of a query reuse its merged
	// order (0: 30s; negative: off), bounded by OrderCacheBytes (0: 64 MiB).
	OrderTTL        Duration `yaml:"order_ttl"`
	OrderCacheBytes Bytes    `yaml:"order_cache_bytes"`
	// FirstPageBytes bounds the whole objects a first fan-out holds
	// (0: 16 MiB); FetchChunk is the names per object fetch (0: 200).
	FirstPageBytes Bytes `yaml:"first_page_bytes"`
	FetchChunk     int   `yaml:"fetch_chunk"`
	// SortMemoryBytes bounds the rows a stream in name order holds
	// (0: 1 MiB); past it they are sorted in runs in a temporary file in
	// SpillDir (default the system's), at most SpillMaxBytes (0: 4 GiB).
	SortMemoryBytes Bytes  `yaml:"sort_memory_bytes"`
	SpillDir        string `yaml:"spill_dir"`
	SpillMaxBytes   Bytes  `yaml:"spill_max_bytes"`
	// ObjectFetch is how a page's objects are read: "search" (one
	// name:(a OR b ...) search per chunk, for Chef Server) or "get" (one
	// GET per node, for goiardi, whose term search is slow).
	ObjectFetch string `yaml:"object_fetch"`
	// NodeOwnerTTL and NodeOwnerCacheSize bound the write path's memory of
	// which shard holds a node (0: 30s and 10,000).
	NodeOwnerTTL       Duration `yaml:"node_owner_ttl"`
	NodeOwnerCacheSize int      `yaml:"node_owner_cache_size"`
	// MaxRows and MaxPageBytes bound one page of /search and /v1/search;
	// streams are not pages. MaxFacetBytes bounds the values one facet
	// request keeps; SpillTotalBytes the sorted runs of all requests.
	MaxRows         int   `yaml:"max_rows"`
	MaxPageBytes    Bytes `yaml:"max_page_bytes"`
	MaxFacetBytes   Bytes `yaml:"max_facet_bytes"`
	SpillTotalBytes Bytes `yaml:"spill_total_bytes"`
	// RolloutStaleAfter is the default check-in age past which a rollout
	// answer counts a node as stale (1h); RolloutMaxLagging bounds the
	// lagging nodes one answer lists (10,000).
	RolloutStaleAfter Duration `yaml:"rollout_stale_after"`
	RolloutMaxLagging int      `yaml:"rollout_max_lagging"`
}

// Duration reads "10s"-style YAML values.
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use 10s, 1m, ...)", n.Line, s)
	}
	d.Duration = v
	return nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type`)

// Load reads and checks a config file. Unknown keys are an error that
// names the key and its line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %v", errors.Unwrap(err))
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %v", path, err)
	}
	return c, nil
}

// Parse reads a config from YAML text and fills in the defaults.
func Parse(data []byte) (*Config, error) {
	c := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("unknown key %q at line %s: remove it or check its spelling", m[2], m[1])
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return c, c.check()
}

// Defaults is the configuration an empty file gives.
func Defaults() *Config {
	return &Config{
		Listen:       "127.0.0.1:4000",
		DefaultStack: "prod",
		Shards: Shards{Timeout: Duration{10 * time.Second}, ClientName: "admin", MaxAnswerBytes: 256 << 20, MaxInFlight: 16,
			BreakerFailures: 5, BreakerInterval: Duration{10 * time.Second}, RetryBudget: 0.1},
		ShutdownTimeout: Duration{30 * time.Second},
		Auth:            Auth{ReplayCacheSize: 100_000},
		ShutdownDelay:   Duration{5 * time.Second},
		Replica:         Replica{Service: "shearch", CheckInterval: Duration{2 * time.Second}},
		Route53:         Route53{Refresh: Duration{60 * time.Second}, URLTemplate: "https://{target}"},
		Consul:          Consul{ShardService: "chef-server", ShardTag: "shearch", ShardScheme: "https"},
		Search: Search{MaxQueryBytes: 16 << 10, MaxWaiting: 256, MaxWait: Duration{5 * time.Second},
			RetryAfterMin: Duration{time.Second}, RetryAfterMax: Duration{30 * time.Second},
			MaxRows: DefaultMaxRows, MaxPageBytes: 64 << 20, MaxFacetBytes: 16 << 20, SpillTotalBytes: 8 << 30,
			RolloutStaleAfter: Duration{time.Hour}, RolloutMaxLagging: 10_000},
		Consistency: Consistency{CacheTTL: Duration{10 * time.Second}, CallerScans: 6, CallerWindow: Duration{time.Minute}},
		// A search waits for its slowest shard (shards.timeout per page),
		// so the write timeout leaves room for several; NDJSON streams
		// move it forward at each flush.
		Server: Server{ReadTimeout: Duration{60 * time.Second}, WriteTimeout: Duration{120 * time.Second},
			IdleTimeout: Duration{120 * time.Second}, MaxBodyBytes: 1 << 20, MetricsAuth: "none"},
	}
}

func (c *Config) check() error {
	switch c.Search.ObjectFetch {
	case "", "search", "get":
	default:
		return fmt.Errorf("search.object_fetch %q: use search (Chef Server) or get (goiardi)", c.Search.ObjectFetch)
	}
	seen := map[string]bool{}
	for i, s := range c.Shards.Static {
		where := fmt.Sprintf("shards.static[%d]", i)
		if s.Name == "" {
			return fmt.Errorf("%s: name is missing", where)
		}
		if seen[s.Name] {
			return fmt.Errorf("%s: shard name %q is listed twice", where, s.Name)
		}
		seen[s.Name] = true
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s (%s): bad url %q: want http(s)://host[:port]", where, s.Name, s.URL)
		}
		if s.Stack == "" {
			return fmt.Errorf("%s (%s): stack is missing (prod, dev, ...)", where, s.Name)
		}
	}
	switch {
	case c.Shards.MaxInFlight < 1:
		return fmt.Errorf("shards.max_in_flight is %d: it must be at least 1", c.Shards.MaxInFlight)
	case c.Search.MaxWaiting < 1:
		return fmt.Errorf("search.max_waiting is %d: it must be at least 1", c.Search.MaxWaiting)
	case c.Search.MaxWait.Duration <= 0:
		return errors.New("search.max_wait must be positive (5s, ...)")
	case c.Search.RetryAfterMin.Duration < time.Second || c.Search.RetryAfterMax.Duration < c.Search.RetryAfterMin.Duration:
		return fmt.Errorf("search.retry_after_min (%s) must be at least 1s and search.retry_after_max (%s) at least that",
			c.Search.RetryAfterMin.Duration, c.Search.RetryAfterMax.Duration)
	case c.Shards.BreakerFailures < 1:
		return fmt.Errorf("shards.breaker_failures is %d: it must be at least 1", c.Shards.BreakerFailures)
	case c.Shards.BreakerInterval.Duration <= 0:
		return errors.New("shards.breaker_interval must be positive (10s, ...)")
	case c.Shards.RetryBudget <= 0 || c.Shards.RetryBudget > 1:
		return fmt.Errorf("shards.retry_budget is %v: give a share above 0 and at most 1 (0.1: retries add at most 10%% more requests)", c.Shards.RetryBudget)
	case c.ShutdownTimeout.Duration <= 0:
		return errors.New("shutdown_timeout must be positive (30s, ...)")
	case c.Search.RolloutStaleAfter.Duration <= 0:
		return errors.New("search.rollout_stale_after must be positive (1h, ...)")
	case c.Search.RolloutMaxLagging < 1:
		return fmt.Errorf("search.rollout_max_lagging is %d: it must be at least 1", c.Search.RolloutMaxLagging)
	case c.ShutdownDelay.Duration < 0:
		return errors.New("shutdown_delay must not be negative (5s; 0s stops accepting at once)")
	}
	if err := c.checkReplica(); err != nil {
		return err
	}
	if len(c.Route53.Records) > 0 && c.Route53.ZoneID == "" {
		return errors.New("route53.zone_id is missing: records need the hosted zone that holds them")
	}
	if c.Route53.Endpoint != "" {
		if u, err := url.Parse(c.Route53.Endpoint); err != nil || u.Host == "" {
			return fmt.Errorf("route53.endpoint: bad url %q", c.Route53.Endpoint)
		}
	}
	if !strings.Contains(c.Route53.URLTemplate, "{target}") {
		return fmt.Errorf("route53.url_template %q has no {target}", c.Route53.URLTemplate)
	}
	return c.checkLimits()
}

// checkLimits checks the bounds, TLS and the Consul shard rules.
func (c *Config) checkLimits() error {
	for key, d := range map[string]Duration{"server.read_timeout": c.Server.ReadTimeout,
		"server.write_timeout": c.Server.WriteTimeout, "server.idle_timeout": c.Server.IdleTimeout, "shards.timeout": c.Shards.Timeout} {
		if d.Duration <= 0 {
			return fmt.Errorf("%s must be a positive duration such as 30s", key)
		}
	}
	for key, b := range map[string]Bytes{"server.max_body_bytes": c.Server.MaxBodyBytes,
		"search.max_query_bytes": c.Search.MaxQueryBytes, "shards.max_answer_bytes": c.Shards.MaxAnswerBytes,
		"search.max_page_bytes": c.Search.MaxPageBytes, "search.max_facet_bytes": c.Search.MaxFacetBytes,
		"search.spill_total_bytes": c.Search.SpillTotalBytes} {
		if b <= 0 {
			return fmt.Errorf("%s must be a positive size such as 1MiB", key)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: set both cert_file and key_file to serve HTTPS, or neither")
	}
	if c.Consul.ShardScheme != "http" && c.Consul.ShardScheme != "https" {
		return fmt.Errorf("consul.shard_scheme %q: use https (the default) or http", c.Consul.ShardScheme)
	}
	if c.Consul.ShardTag == "" {
		return errors.New("consul.shard_tag is empty: name the tag a Consul service needs to be a shard (default shearch)")
	}
	return c.checkTrust()
}

// checkTrust checks the settings that decide whom Shearch believes.
func (c *Config) checkTrust() error {
	if _, err := c.Server.Proxies(); err != nil {
		return err
	}
	switch c.Server.MetricsAuth {
	case "none", "token":
	default:
		return fmt.Errorf("server.metrics_auth %q: use none (the default: /metrics open to scrapers) or token", c.Server.MetricsAuth)
	}
	if c.Auth.ReplayCacheSize < 1 {
		return fmt.Errorf("auth.replay_cache_size is %d: it must be at least 1 (default 100000)", c.Auth.ReplayCacheSize)
	}
	return c.checkBounds()
}

// Proxies parses server.trusted_proxies: CIDRs, or single addresses.
func (s Server) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, p := range s.TrustedProxies {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(p))
		if err != nil {
			a, aerr := netip.ParseAddr(strings.TrimSpace(p))
			if aerr != nil {
				return nil, fmt.Errorf("server.trusted_proxies[%d] %q is not a CIDR such as 10.0.0.0/8 or an address", i, p)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

func (c *Config) checkReplica() error {
	r := c.Replica
	if r.Advertise == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(r.Advertise)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("replica.advertise %q: want HOST:PORT where Consul and load balancers reach this replica", r.Advertise)
	}
	if c.Consul.Address == "" {
		return errors.New("replica.advertise is set but consul.address is empty: replicas register in Consul; set consul.address")
	}
	if r.Service == "" {
		return errors.New("replica.service is empty: name the Consul service the replicas register as (default shearch)")
	}
	if r.CheckInterval.Duration < 100*time.Millisecond {
		return fmt.Errorf("replica.check_interval %s: give at least 100ms (default 2s)", r.CheckInterval.Duration)
	}
	return nil
}

// Bytes reads a size: a plain number of bytes, or 16KiB, 1MiB, 1GiB.
type Bytes int64

// UnmarshalYAML parses a size.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return fmt.Errorf("line %d: %q is not a size (use 1048576, 16KiB, 64MiB, 1GiB)", n.Line, s)
	}
	*b = Bytes(v * mult)
	return nil
}

// KeyFor resolves a static shard's client name and key against the defaults.
func (c *Config) KeyFor(s StaticShard) (name, key string) {
	name, key = s.ClientName, s.ClientKey
	if name == "" {
		name = c.Shards.ClientName
	}
	if key == "" {
		key = c.Shards.ClientKey
	}
	return name, key
}
