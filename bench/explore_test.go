package bench

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/search"
)

func TestExploreGnife(t *testing.T) {
	ctx := context.Background()
	fx := devfleet.Synthetic(1200, 7, time.Now().Unix())
	c, err := devfleet.StartCluster(ctx, "gx", "prod", 3, fx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	cl, _ := c.Shards[0].Client()
	for _, p := range []map[string][]string{{"n": {"name"}}, nil} {
		for i := 0; i < 5; i++ {
			b := time.Now()
			rows, err := cl.Search(ctx, "node", "*:*", p)
			t.Logf("direct partial=%v: %d rows %s %v", p != nil, len(rows), time.Since(b), err)
		}
	}
	e := &search.Engine{Topology: search.StaticShards(c.ShardList()), DefaultStack: "prod"}
	for i := 0; i < 5; i++ {
		b := time.Now()
		res, err := e.Search(ctx, search.Request{Index: "node", Query: "*:*", Rows: 1000, Partial: map[string][]string{"__display_name": {"name"}}})
		t.Logf("engine: %d rows %s %v", len(res.Rows), time.Since(b), err)
	}
	p := startShearch(t, c.ShardList(), "")
	defer p.stop()
	gn := binary(t, "gnife")
	for _, args := range [][]string{{"search", "node", "*:*", "-i"}, {"--version"}} {
		for i := 0; i < 5; i++ {
			cmd := exec.Command(gn, args...)
			cmd.Env = append(os.Environ(), "SHEARCH_URL="+p.URL, "GNIFE_CONFIG=/dev/null")
			b := time.Now()
			cmd.Run()
			t.Logf("gnife %v: wall %s user %s sys %s", args, time.Since(b), cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime())
		}
	}
}
