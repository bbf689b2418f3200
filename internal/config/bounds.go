package config

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
)

// DefaultMaxRows is search.max_rows when not set: ten of knife's
// 1,000-row pages, so knife, gnife and their walks never meet it.
const DefaultMaxRows = 10000

// Consistency bounds the drift scan, which reads every shared object of
// every shard of a stack.
type Consistency struct {
	// CacheTTL is how long a report is served again; concurrent scans of
	// one stack are always shared. A repair always reads fresh.
	CacheTTL Duration `yaml:"cache_ttl"`
	// CallerScans is how many scans one caller may start (a cached or
	// shared report is free) per CallerWindow.
	CallerScans  int      `yaml:"caller_scans"`
	CallerWindow Duration `yaml:"caller_window"`
}

// checkBounds checks the page, facet, spill and scan bounds and the
// Consul shard trust rules.
func (c *Config) checkBounds() error {
	switch {
	case c.Search.MaxRows < 1:
		return fmt.Errorf("search.max_rows is %d: it must be at least 1 (default %d)", c.Search.MaxRows, DefaultMaxRows)
	case c.Consistency.CacheTTL.Duration < 0:
		return errors.New("consistency.cache_ttl must not be negative (0s: no cache, 10s, ...)")
	case c.Consistency.CallerScans < 1:
		return fmt.Errorf("consistency.caller_scans is %d: it must be at least 1", c.Consistency.CallerScans)
	case c.Consistency.CallerWindow.Duration <= 0:
		return errors.New("consistency.caller_window must be positive (1m, ...)")
	}
	for i, p := range c.Consul.ShardNames {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("consul.shard_names[%d] %q is not a name pattern: use names with * and ? (chef-*)", i, p)
		}
	}
	for i, n := range c.Consul.ShardNetworks {
		if strings.Contains(n, "/") {
			if _, _, err := net.ParseCIDR(n); err != nil {
				return fmt.Errorf("consul.shard_networks[%d] %q is not a CIDR (10.0.0.0/8, fd00::/8)", i, n)
			}
			continue
		}
		if strings.Trim(n, ".") == "" || strings.ContainsAny(n, " :*@") {
			return fmt.Errorf("consul.shard_networks[%d] %q: give a CIDR (10.0.0.0/8) or a host suffix (.chef.example.com)", i, n)
		}
	}
	if c.Consul.ShardCAFile != "" && c.Consul.ShardScheme != "https" {
		return errors.New("consul.shard_ca_file is set but consul.shard_scheme is http: a CA pins TLS, so use https")
	}
	return nil
}
