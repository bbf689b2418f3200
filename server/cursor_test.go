package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// Walking 5,000 nodes on 3 shards with cursor, 100 a page, returns every
// node exactly once while nodes are being added to the shards.
func TestCursorWalkWhileShardsChange(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	fx := devfleet.Synthetic(5000, 11, time.Now().Unix())
	// The merged names are cached briefly, as a production Shearch would
	// with search.cache_ttl; the keyset cursor must hold across refreshes.
	f, err := fleettest.Start(ctx, 3, fx, func(f *fleettest.Fleet) {
		f.Engine.Timeout = 30 * time.Second
		f.Engine.Cache = &search.Cache{TTL: 20 * time.Second, Size: 8}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, cl := f.Cluster, f.Client

	// Keep adding nodes, on every shard, for as long as the walk runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	added := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			g := c.Shards[i%3]
			admin, _ := g.Client()
			n := devfleet.Synthetic(1, int64(1000+i), time.Now().Unix()).Nodes[0]
			n["name"] = fmt.Sprintf("added-%05d.example.com", i)
			if _, err := admin.Do(ctx, "POST", shards.CollectionPath(shards.Nodes), n); err == nil {
				added++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	seen := map[string]int{}
	req := &api.SearchOptions{Rows: 100}
	pages := 0
	began := time.Now()
	for {
		t0 := time.Now()
		res, err := cl.Search(ctx, "node", "*:*", req)
		if pages < 3 || time.Since(t0) > 5*time.Second {
			t.Logf("page %d took %s (%s into the walk)", pages, time.Since(t0), time.Since(began))
		}
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		pages++
		if pages > 5000/100+10 {
			close(stop)
			t.Fatalf("walk does not end after %d pages", pages)
		}
		for _, r := range res.Rows {
			seen[r.Name]++
			if r.Object()["chef_type"] != "node" {
				close(stop)
				t.Fatalf("row %s is not a whole node: %v", r.Name, r.Data)
			}
		}
		if res.NextCursor == "" {
			break
		}
		req.Cursor = res.NextCursor
	}
	close(stop)
	wg.Wait()
	for _, n := range fx.Nodes {
		name := n["name"].(string)
		if seen[name] != 1 {
			t.Fatalf("node %s seen %d times", name, seen[name])
		}
	}
	for name, k := range seen {
		if k != 1 {
			t.Fatalf("node %s seen %d times", name, k)
		}
	}
	t.Logf("walked %d pages, %d distinct nodes, %d nodes added during the walk", pages, len(seen), added)
	if added == 0 {
		t.Fatal("no node was added during the walk: the test proves nothing")
	}
}
