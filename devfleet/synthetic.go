package devfleet

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strconv"
)

// Synthetic makes a realistic fleet of n nodes: ohai-like automatic data,
// roles, environments and tags, the same for the same n and seed.
// Clock is the Unix time ohai_time values are set relative to.
func Synthetic(n int, seed int64, clock int64) *Fixture {
	rng := rand.New(rand.NewSource(seed))
	type roleDef struct {
		name    string
		recipes []string
	}
	roles := []roleDef{
		{"web", []string{"nginx", "app::web"}},
		{"db", []string{"postgresql::server", "postgresql::backup"}},
		{"cache", []string{"memcached"}},
		{"lb", []string{"haproxy"}},
		{"worker", []string{"app::worker", "sidekiq"}},
		{"monitoring", []string{"prometheus", "grafana"}},
	}
	envs := []string{"prod", "prod", "prod", "dev", "staging"}
	platforms := [][3]string{{"ubuntu", "debian", "22.04"}, {"ubuntu", "debian", "20.04"}, {"centos", "rhel", "7.9.2009"}, {"amazon", "amazon", "2"}, {"debian", "debian", "11.6"}}
	tagPool := []string{"canary", "frontend", "backend", "pci", "spot", "legacy", "foo"}
	azs := []string{"us-east-1a", "us-east-1b", "us-east-1c", "eu-west-1a"}

	fx := &Fixture{DataBags: map[string][]Object{}}
	for _, e := range []string{"prod", "dev", "staging"} {
		fx.Environments = append(fx.Environments, Object{
			"name": e, "description": e + " environment", "json_class": "Chef::Environment", "chef_type": "environment",
			"cookbook_versions": map[string]any{}, "default_attributes": map[string]any{}, "override_attributes": map[string]any{},
		})
	}
	fx.Roles = append(fx.Roles, Object{"name": "base", "description": "every node", "json_class": "Chef::Role", "chef_type": "role",
		"run_list": []any{"recipe[base]", "recipe[ntp]"}, "default_attributes": map[string]any{}, "override_attributes": map[string]any{}, "env_run_lists": map[string]any{}})
	for _, r := range roles {
		rl := []any{"role[base]"}
		for _, rc := range r.recipes {
			rl = append(rl, "recipe["+rc+"]")
		}
		fx.Roles = append(fx.Roles, Object{"name": r.name, "description": r.name + " servers", "json_class": "Chef::Role", "chef_type": "role",
			"run_list": rl, "default_attributes": map[string]any{}, "override_attributes": map[string]any{}, "env_run_lists": map[string]any{}})
	}
	for i, u := range []string{"alice", "bob", "carol", "dave"} {
		fx.DataBags["users"] = append(fx.DataBags["users"], Object{"id": u, "uid": json.Number(strconv.Itoa(2001 + i)), "shell": "/bin/bash", "groups": []any{"sysadmin"}})
	}

	for i := 0; i < n; i++ {
		r := roles[rng.Intn(len(roles))]
		env := envs[rng.Intn(len(envs))]
		p := platforms[rng.Intn(len(platforms))]
		host := fmt.Sprintf("%s-%04d", r.name, i)
		domain := env + ".example.com"
		fqdn := host + "." + domain
		ip := fmt.Sprintf("10.%d.%d.%d", rng.Intn(4), i/250%250, i%250+1)
		recipes := append([]any{"base", "ntp"}, anySlice(r.recipes)...)
		var tags []any
		for _, t := range tagPool {
			if rng.Intn(5) == 0 {
				tags = append(tags, t)
			}
		}
		if tags == nil {
			tags = []any{}
		}
		ohai := clock - int64(rng.Intn(7200))
		node := Object{
			"name": fqdn, "chef_environment": env, "json_class": "Chef::Node", "chef_type": "node",
			"run_list": []any{"role[" + r.name + "]"},
			"normal":   map[string]any{"tags": tags},
			"default":  map[string]any{}, "override": map[string]any{},
			"automatic": map[string]any{
				"fqdn": fqdn, "hostname": host, "domain": domain, "ipaddress": ip,
				"macaddress": fmt.Sprintf("02:42:0a:%02x:%02x:%02x", rng.Intn(256), i/256%256, i%256),
				"platform":   p[0], "platform_family": p[1], "platform_version": p[2],
				"os":             "linux",
				"kernel":         map[string]any{"name": "Linux", "release": "5.15.0-" + strconv.Itoa(40+rng.Intn(60)) + "-generic", "machine": "x86_64"},
				"cpu":            map[string]any{"total": json.Number(strconv.Itoa(2 << rng.Intn(4)))},
				"memory":         map[string]any{"total": strconv.Itoa(4096*(1+rng.Intn(16))*1024) + "kB"},
				"uptime_seconds": json.Number(strconv.Itoa(rng.Intn(10_000_000))),
				"ohai_time":      json.Number(strconv.FormatInt(ohai, 10) + "." + strconv.Itoa(rng.Intn(100))),
				"roles":          []any{r.name, "base"},
				"recipes":        recipes,
				"ec2":            map[string]any{"placement_availability_zone": azs[rng.Intn(len(azs))], "instance_id": fmt.Sprintf("i-%017x", rng.Int63())},
			},
		}
		fx.Nodes = append(fx.Nodes, node)
	}
	return fx
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
