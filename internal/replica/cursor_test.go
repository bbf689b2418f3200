package replica_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/shards"
)

// Acceptance 5: a cursor walk that alternates replicas page by page, while
// nodes are added and deleted on the shards, sees no node twice and misses
// none that stayed. The cursor is a keyset, so a replica that never saw
// the walk's earlier pages carries on from it.
func TestCursorAcrossReplicas(t *testing.T) {
	e := getEnv(t)
	procs, _ := e.startReplicas(t, 2, replicaOpts{service: "shearch-cursor", maxInFlight: 16, shutdownDelay: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admins := make([]*shards.Client, len(e.dev.Cluster.Shards))
	for i, g := range e.dev.Cluster.Shards {
		var err error
		if admins[i], err = g.Client(); err != nil {
			t.Fatal(err)
		}
	}
	put := func(i int, name string) error {
		n := devfleet.Synthetic(1, int64(i), time.Now().Unix()).Nodes[0]
		n["name"] = name
		_, err := admins[i%len(admins)].Do(ctx, "POST", shards.CollectionPath(shards.Nodes), n)
		return err
	}
	del := func(i int, name string) error {
		p, err := shards.ObjectPath(shards.Nodes, name)
		if err != nil {
			return err
		}
		_, err = admins[i%len(admins)].Do(ctx, "DELETE", p, nil)
		return err
	}
	// Nodes to delete during the walk, spread over the name order.
	var doomedNames []string
	for i := range 10 {
		name := fmt.Sprintf("node-%d-doomed.example.com", i)
		if err := put(i, name); err != nil {
			t.Fatalf("adding %s: %v", name, err)
		}
		doomedNames = append(doomedNames, name)
	}
	before := map[string]bool{}
	walk(t, procs[0].URL, nil, func(name string) { before[name] = true })

	stop := make(chan struct{})
	var added, deleted atomic.Int64
	var addedNames sync.Map
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			name := fmt.Sprintf("node-%d-added-%04d.example.com", i%10, i)
			if put(i, name) == nil {
				added.Add(1)
				addedNames.Store(name, i)
			}
			if i < len(doomedNames) && del(i, doomedNames[i]) == nil {
				deleted.Add(1)
			}
		}
	})
	seen := map[string]int{}
	pages := walk(t, "", []string{procs[0].URL, procs[1].URL}, func(name string) { seen[name]++ })
	close(stop)
	wg.Wait()
	// The other tests count the fleet: leave it as it was.
	addedNames.Range(func(k, v any) bool { del(v.(int), k.(string)); return true })
	for i, n := range doomedNames {
		del(i, n) // those the walk did not get to; the others are gone already
	}

	dup, missed := 0, 0
	for name, n := range seen {
		if n > 1 {
			dup++
			t.Errorf("node %s seen %d times", name, n)
		}
	}
	gone := map[string]bool{}
	for _, n := range doomedNames {
		gone[n] = true
	}
	for name := range before {
		if !gone[name] && seen[name] != 1 {
			missed++
			if missed <= 5 {
				t.Errorf("node %s stayed but the walk missed it", name)
			}
		}
	}
	t.Logf("cursor walk over 2 replicas alternately: %d pages, %d nodes; %d added and %d deleted during it; %d seen twice, %d that stayed missed",
		pages, len(seen), added.Load(), deleted.Load(), dup, missed)
	if added.Load() == 0 || deleted.Load() == 0 {
		t.Fatalf("the walk saw no change (%d added, %d deleted): it proves nothing", added.Load(), deleted.Load())
	}
}

// walk pages node search by cursor, 250 rows a page, asking the bases in
// turn (or base alone), and calls each row's name; it returns the pages.
func walk(t *testing.T, base string, bases []string, row func(string)) int {
	t.Helper()
	if bases == nil {
		bases = []string{base}
	}
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("the walk does not end after 100 pages")
		}
		u := bases[page%len(bases)] + "/v1/search/node?q=*:*&rows=250&cursor=" + url.QueryEscape(cursor)
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Rows []struct {
				Name string `json:"name"`
			} `json:"rows"`
			NextCursor string `json:"next_cursor"`
		}
		err = jsonDecode(res.Body, &body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("page %d from %s: HTTP %d %v", page, bases[page%len(bases)], res.StatusCode, err)
		}
		for _, r := range body.Rows {
			row(r.Name)
		}
		if body.NextCursor == "" {
			return page + 1
		}
		cursor = body.NextCursor
	}
}
