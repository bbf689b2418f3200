package devfleet

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/shards"
)

// Cluster is a set of goiardi shards of one stack holding a fixture.
type Cluster struct {
	Stack  string
	Shards []*Goiardi
	// Parts is what each shard was loaded with, in shard order.
	Parts []*Fixture
}

// StartCluster starts n goiardi shards named PREFIX-1..n at once and
// spreads fx over them (nil loads nothing).
func StartCluster(ctx context.Context, prefix, stack string, n int, fx *Fixture) (*Cluster, error) {
	c := &Cluster{Stack: stack, Shards: make([]*Goiardi, n)}
	if fx != nil {
		c.Parts = fx.Spread(n)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range c.Shards {
		g.Go(func() error {
			s, err := StartGoiardi(gctx, GoiardiOptions{Name: fmt.Sprintf("%s-%d", prefix, i+1)})
			if err != nil {
				return err
			}
			c.Shards[i] = s
			if fx == nil {
				return nil
			}
			cl, err := s.Client()
			if err != nil {
				return err
			}
			return Load(gctx, cl, c.Parts[i])
		})
	}
	if err := g.Wait(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// ShardList describes the cluster as static shards.
func (c *Cluster) ShardList() []shards.Shard {
	out := make([]shards.Shard, len(c.Shards))
	for i, s := range c.Shards {
		out[i] = s.Shard(c.Stack)
	}
	return out
}

// Stop stops every shard.
func (c *Cluster) Stop() {
	for _, s := range c.Shards {
		if s != nil {
			s.Stop()
		}
	}
}
