package api_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shearch/shearch/api"
)

// How far chef-client 16.12.3 has got on the web nodes, per environment:
// a promotion job gates on every group's Share (and on Shards: a failed
// shard is a *PartialError unless AllowPartial).
func ExampleClient_Rollout() {
	r, err := client().Rollout(context.Background(), "node", "role:web", "chef_packages.chef.version", "16.12.3",
		&api.RolloutOptions{By: "chef_environment", Lagging: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range r.Groups {
		fmt.Printf("%s %d/%d %.2f\n", g.Group, g.Reached, g.Total, g.Share)
	}
	fmt.Printf("all %d/%d, %d lagging\n", r.All.Reached, r.All.Total, len(r.Lagging))
	// Output:
	// dev 1/1 1.00
	// prod 2/2 1.00
	// all 3/3, 0 lagging
}

// Every environment's cookbook pins on every shard, and the ones the
// shards disagree on.
func ExampleClient_Pins() {
	m, err := client().Pins(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Environments, m.Cookbooks)
	for _, p := range m.Pins {
		fmt.Println(p.Cookbook, p.Environment, p.Merged, p.Disagree)
	}
	// Output:
	// [dev prod sandbox] [base nginx postgresql]
	// base prod >= 3.1.0 false
	// nginx prod = 12.0.5 false
	// postgresql prod ~> 11.2 false
}
