package devfleet

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"

	consulapi "github.com/hashicorp/consul/api"
	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/shards"
)

// NodeService is the Consul service every Chef node's agent registers.
const NodeService = "chef-node"

// RegisterNodes registers each node of a shard's fixture in Consul the
// way a node's own agent would (see DESIGN.md, Consul data model): the
// Consul node under the Chef node name, node meta, and a chef-node service
// tagged with the node's roles, recipes and tags.
func RegisterNodes(ctx context.Context, c *consulapi.Client, shard string, nodes []Object) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, n := range nodes {
		reg := NodeRegistration(shard, n)
		g.Go(func() error {
			_, err := c.Catalog().Register(reg, (&consulapi.WriteOptions{}).WithContext(gctx))
			if err != nil {
				return fmt.Errorf("registering node %s in consul: %v", reg.Node, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// NodeRegistration is the catalog entry of one Chef node.
func NodeRegistration(shard string, n Object) *consulapi.CatalogRegistration {
	auto, _ := n["automatic"].(map[string]any)
	normal, _ := n["normal"].(map[string]any)
	addr := str(auto["ipaddress"])
	if addr == "" {
		addr = "127.0.0.1" // Consul requires an address; the node has none
	}
	meta := map[string]string{"chef_environment": str(n["chef_environment"]), "chef_shard": shard}
	for _, k := range []string{"fqdn", "platform", "platform_version"} {
		if v := str(auto[k]); v != "" {
			meta[k] = v
		}
	}
	var tags []string
	for _, r := range stringList(auto["roles"]) {
		tags = append(tags, "role:"+r)
	}
	for _, r := range stringList(auto["recipes"]) {
		tags = append(tags, "recipe:"+r)
	}
	for _, t := range stringList(normal["tags"]) {
		tags = append(tags, "tag:"+t)
	}
	name := str(n["name"])
	return &consulapi.CatalogRegistration{
		Node: name, Address: addr, NodeMeta: meta, SkipNodeUpdate: false,
		Service: &consulapi.AgentService{ID: NodeService, Service: NodeService, Tags: tags, Address: addr},
	}
}

// RegisterShard registers a Chef server as the chef-server service with
// the shearch tag (consul.shard_tag) and stack: and shard: tags, under a
// Consul node of its own.
func RegisterShard(ctx context.Context, c *consulapi.Client, service string, s shards.Shard) error {
	u, err := url.Parse(s.URL)
	if err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("shard %s url %s: %v", s.Name, s.URL, err)
	}
	port, _ := strconv.Atoi(portText)
	reg := &consulapi.CatalogRegistration{
		Node: "chef-server-" + s.Name, Address: host,
		Service: &consulapi.AgentService{ID: service + "-" + s.Name, Service: service, Address: host, Port: port,
			Tags: []string{discovery.DefaultShardTag, "stack:" + s.Stack, "shard:" + s.Name}},
		Check: &consulapi.AgentCheck{CheckID: "chef-api-" + s.Name, Name: "Chef API", Status: consulapi.HealthPassing,
			ServiceID: service + "-" + s.Name},
	}
	_, err = c.Catalog().Register(reg, (&consulapi.WriteOptions{}).WithContext(ctx))
	return err
}

func stringList(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
