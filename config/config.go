// Package config reads Shearch's YAML configuration file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
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
}

// Auth says who may read and who may write; empty, anyone reads.
type Auth struct {
	// TokensFile: a bearer token a line, "TOKEN" (read) or "TOKEN write".
	TokensFile string `yaml:"tokens_file"`
	// ChefKeysDir holds NAME.pem public keys: Chef-signed requests
	// (X-Ops-Sign 1.0, 1.1, 1.3) authenticate as NAME.
	ChefKeysDir string `yaml:"chef_keys_dir"`
	// Writers are the Chef-signed names that may write.
	Writers []string `yaml:"writers"`
}

// Shards holds the defaults and the hand-listed shards.
type Shards struct {
	Timeout    Duration      `yaml:"timeout"`
	ClientName string        `yaml:"client_name"`
	ClientKey  string        `yaml:"client_key"`
	Static     []StaticShard `yaml:"static"`
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
	NodeFallback bool   `yaml:"node_fallback"`
}

// Search tunes the engine.
type Search struct {
	Concurrency int      `yaml:"concurrency"`
	CacheTTL    Duration `yaml:"cache_ttl"`
	CacheSize   int      `yaml:"cache_size"`
	// CacheBytes bounds the cached answers in bytes (0: 64 MiB).
	CacheBytes int `yaml:"cache_bytes"`
	// OrderTTL is how long later pages of a query reuse its merged
	// order (0: 30s; negative: off), bounded by OrderCacheBytes (0: 64 MiB).
	OrderTTL        Duration `yaml:"order_ttl"`
	OrderCacheBytes int      `yaml:"order_cache_bytes"`
	// FirstPageBytes bounds the whole objects a first fan-out holds
	// (0: 16 MiB); FetchChunk is the names per object fetch (0: 200).
	FirstPageBytes int `yaml:"first_page_bytes"`
	FetchChunk     int `yaml:"fetch_chunk"`
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
	c := &Config{
		Listen:       "127.0.0.1:4000",
		DefaultStack: "prod",
		Shards:       Shards{Timeout: Duration{10 * time.Second}, ClientName: "admin"},
		Route53:      Route53{Refresh: Duration{60 * time.Second}, URLTemplate: "https://{target}"},
		Consul:       Consul{ShardService: "chef-server"},
	}
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

func (c *Config) check() error {
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
