package discovery

import (
	"strings"
	"testing"

	consulapi "github.com/hashicorp/consul/api"
)

// A registered address that is not a bare IP or host name (userinfo, a
// path, a port, a query, a scheme) never becomes a shard URL: Shearch
// would sign admin requests to wherever it points.
func TestConsulAddressMustBeAHost(t *testing.T) {
	c := &Consul{cfg: ConsulConfig{ShardTag: DefaultShardTag, ShardScheme: "https",
		Trust: ConsulTrust{Names: []string{"chef-*"}, Networks: []string{"10.0.0.0/8", "::1/128", ".internal"}}}}
	entry := func(addr string) *consulapi.ServiceEntry {
		return &consulapi.ServiceEntry{
			Node:    &consulapi.Node{Node: "n1", Address: "10.0.0.9"},
			Service: &consulapi.AgentService{Address: addr, Port: 443, Tags: []string{DefaultShardTag, "shard:chef-1", "stack:prod"}},
		}
	}
	for _, addr := range []string{"evil.example@chef-1.internal", "chef-1.internal/organizations/other", "chef-1.internal:8443",
		"chef-1.internal?x=1", "chef-1.internal#x", "https://evil.example", "chef 1", "chef-1.internal\\evil", "[::1]", "chef-1.internal%2F"} {
		sh, problem := c.toShard(entry(addr))
		if problem == "" || !strings.Contains(problem, "skipped") {
			t.Errorf("address %q became shard URL %q", addr, sh.URL)
		}
	}
	for addr, want := range map[string]string{"chef-1.internal": "https://chef-1.internal:443", "10.1.2.3": "https://10.1.2.3:443",
		"::1": "https://[::1]:443", "": "https://10.0.0.9:443"} {
		sh, problem := c.toShard(entry(addr))
		if problem != "" || sh.URL != want {
			t.Errorf("address %q: %q %q, want %s", addr, sh.URL, problem, want)
		}
	}
}
