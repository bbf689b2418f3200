package discovery

import (
	"fmt"
	"net"
	"path"
	"strings"

	"github.com/shearch/shearch/shards"
)

// Whoever can register a service in Consul picks its tags, so the shard
// tag alone let a rogue service receive admin-signed requests and the
// bodies of stack-wide writes, win merges with a future ohai_time, and,
// registered twice, decide a repair's majority. A Consul-registered
// service is now a shard only when its name matches consul.shard_names
// and its address consul.shard_networks (both empty: none is), its TLS
// must chain to consul.shard_ca_file when that is set, and a shard known
// only from Consul never votes in a repair (search/repair.go).

// ConsulTrust is what a Consul service must also satisfy to be a shard.
type ConsulTrust struct {
	// Names are path.Match patterns a shard name must match (chef-*).
	Names []string
	// Networks are CIDRs (10.20.0.0/16) an IP address must be in, or
	// host suffixes (.chef.example.com) a host name must end with.
	Networks []string
	// CAFile is the PEM CA bundle a shard's TLS must chain to, instead of
	// the system's roots.
	CAFile string
}

// check says why a shard found in Consul at host addr is not trusted, or
// "" when it is.
func (tr ConsulTrust) check(name, addr string) string {
	if len(tr.Names) == 0 || len(tr.Networks) == 0 {
		return "consul.shard_names and consul.shard_networks must both be set for Consul to add shards; skipped"
	}
	matched := false
	for _, p := range tr.Names {
		if ok, _ := path.Match(p, name); ok {
			matched = true
			break
		}
	}
	if !matched {
		return fmt.Sprintf("shard name %q matches no consul.shard_names pattern; skipped", name)
	}
	if !tr.inNetworks(addr) {
		return fmt.Sprintf("address %s is in no consul.shard_networks entry; skipped", addr)
	}
	return ""
}

func (tr ConsulTrust) inNetworks(addr string) bool {
	ip := net.ParseIP(addr)
	host := strings.ToLower(strings.TrimSuffix(addr, "."))
	for _, n := range tr.Networks {
		if strings.Contains(n, "/") {
			if _, cidr, err := net.ParseCIDR(n); err == nil && ip != nil && cidr.Contains(ip) {
				return true
			}
			continue
		}
		// A host name is trusted by its zone; an IP never by a suffix.
		suffix := strings.ToLower(strings.Trim(n, "."))
		if ip == nil && suffix != "" && (host == suffix || strings.HasSuffix(host, "."+suffix)) {
			return true
		}
	}
	return false
}

// trusted re-checks a shard against the current rules (a cached one was
// found under older ones) and pins its CA.
func (tr ConsulTrust) trusted(s shards.Shard) (shards.Shard, bool) {
	host := s.URL
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if tr.check(s.Name, host) != "" {
		return s, false
	}
	s.CAFile = tr.CAFile
	return s, true
}

// trustedOf keeps the shards of list that pass, their CA pinned.
func (tr ConsulTrust) trustedOf(list []shards.Shard) []shards.Shard {
	var out []shards.Shard
	for _, s := range list {
		if s, ok := tr.trusted(s); ok {
			out = append(out, s)
		}
	}
	return out
}
