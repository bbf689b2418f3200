package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// A bad query is a 400 from Shearch's own parser that names the
// position, and no shard is asked.
func TestBadQueryNeverReachesShards(t *testing.T) {
	f := startFleet(t)
	var asked atomic.Int32
	e := search.MustNew(search.Config{DefaultStack: "prod", CheckQueries: true}, search.Deps{Topology: search.StaticShards(f.cluster.ShardList()), OnShardResult: func(string, error) { asked.Add(1) }})
	srv := httptest.NewServer(server.New(engine.Over(e), nil))
	defer srv.Close()
	for _, q := range []string{"role:(web", "a AND NOT b AND NOT c", "?foo", "foo\\bar"} {
		res, err := http.Get(srv.URL + "/search/node?q=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error []string `json:"error"`
		}
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != 400 || len(body.Error) != 1 || !strings.Contains(body.Error[0], "position") {
			t.Errorf("%q: want a 400 naming the position, got %d %v", q, res.StatusCode, body.Error)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("%d shard requests were made for bad queries", n)
	}
	res, _ := http.Get(srv.URL + "/search/node?q=")
	if res.StatusCode != 400 {
		t.Fatalf("empty q: %d, want 400", res.StatusCode)
	}
	res, _ = http.Get(srv.URL + "/search/nosuchindex?q=*:*")
	if res.StatusCode != 404 {
		t.Fatalf("unknown index: %d, want 404", res.StatusCode)
	}
}

// slowShards puts a delaying proxy in front of every shard, so identical
// requests surely overlap.
func slowShards(t *testing.T, list []shards.Shard, delay time.Duration, hits *atomic.Int32) []shards.Shard {
	out := make([]shards.Shard, len(list))
	for i, s := range list {
		u, _ := url.Parse(s.URL)
		p := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			time.Sleep(delay)
			p.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		s.URL = srv.URL
		out[i] = s
	}
	return out
}

// Identical concurrent queries share one fan-out.
func TestConcurrentQueriesShareOneFanOut(t *testing.T) {
	f := startFleet(t)
	var hits atomic.Int32
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards(slowShards(t, f.cluster.ShardList(), 300*time.Millisecond, &hits))})
	var wg sync.WaitGroup
	totals := make([]int, 10)
	for i := range totals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Search(context.Background(), search.Request{Index: "node", Query: "role:web", Start: i % 3, Rows: 1})
			if err == nil {
				totals[i] = res.Total
			}
		}()
	}
	wg.Wait()
	for _, n := range totals {
		if n != 3 {
			t.Fatalf("totals %v, want 3 each", totals)
		}
	}
	// One shared fan-out is 3 shard searches, plus 3 for the map of
	// duplicated nodes (refreshed every 30 s); each request then reads
	// its own one-row page (10 GETs). Unshared it would be 60 + 10.
	if n := hits.Load(); n > 3+3+10 {
		t.Fatalf("10 identical concurrent queries made %d shard requests; want one fan-out (3+3) plus 10 page reads", n)
	}
}

// Accept: application/x-ndjson streams one row a line, then a summary.
func TestNDJSONStream(t *testing.T) {
	f := startFleet(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/search/node?q=*:*&start=2", nil)
	req.Header.Set("Accept", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" || res.Header.Get("X-Shearch-Shards") != "3/3" {
		t.Fatalf("content type %q, X-Shearch-Shards %q", ct, res.Header.Get("X-Shearch-Shards"))
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var names []string
	var summary struct {
		Summary *search.Result `json:"summary"`
	}
	for sc.Scan() {
		var row search.Row
		if strings.HasPrefix(sc.Text(), `{"summary"`) {
			json.Unmarshal(sc.Bytes(), &summary)
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		if row.Object()["chef_type"] != "node" {
			t.Fatalf("row %s is not a whole node", row.Name)
		}
		names = append(names, row.Name)
	}
	whole, err := f.client.Search(context.Background(), "node", "*:*", &api.SearchOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range whole.Rows[2:] {
		want = append(want, r.Name)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") || summary.Summary == nil || summary.Summary.Total != 12 {
		t.Fatalf("stream: %v (summary %+v), want %v", names, summary.Summary, want)
	}
}

// The Go client sends the bearer token; without it Shearch answers 401.
func TestBearerToken(t *testing.T) {
	f := startFleet(t)
	s := server.New(f.engine, nil)
	s.Auth = tokenAuth(t, "s3cret\n")
	srv := httptest.NewServer(s)
	defer srv.Close()
	anon, _ := api.NewClient(&api.Config{Addresses: []string{srv.URL}})
	_, err := anon.Search(context.Background(), "node", "*:*", &api.SearchOptions{AllowPartial: true})
	var se *api.Error
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Fatalf("no token: want 401, got %v", err)
	}
	cl, _ := api.NewClient(&api.Config{Addresses: []string{srv.URL}, Token: "s3cret"})
	if _, err := cl.Search(context.Background(), "node", "*:*", &api.SearchOptions{AllowPartial: true}); err != nil {
		t.Fatal(err)
	}
	res, _ := http.Get(srv.URL + "/healthz")
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("healthz without a token: %d %q", res.StatusCode, b)
	}
}

// Queries Chef Server accepts but goiardi's older grammar refuses are
// answered by Shearch's own matcher over the shards' objects.
func TestQueriesGoiardiRefuses(t *testing.T) {
	f := startFleet(t)
	ctx := context.Background()
	for _, tc := range []struct {
		index, q string
		partial  map[string][]string
		want     []string
	}{
		{"users", `shell:\/bin\/bash`, nil, []string{"data_bag_item_users_alice", "data_bag_item_users_carol"}},
		{"users", `shell:\/bin\/zsh`, map[string][]string{"sh": {"shell"}}, []string{"data_bag_item_users_bob"}},
		// Lucene fuzzy: at most 2 edits away.
		{"node", `name:web-01.prod.example.com~`, nil, []string{"db-01.prod.example.com", "lb-01.prod.example.com", "web-01.prod.example.com", "web-02.prod.example.com"}},
		{"node", `kernel_release:5.4.0-1045-aws AND NOT ec2_region:\/x`, map[string][]string{"ip": {"ipaddress"}}, nil},
	} {
		direct, _ := f.cluster.Shards[0].Client()
		if _, err := direct.Search(ctx, tc.index, tc.q, nil); err == nil {
			t.Fatalf("%s: goiardi accepts it; the test needs a query it refuses", tc.q)
		}
		res, err := f.client.Search(ctx, tc.index, tc.q, &api.SearchOptions{Partial: tc.partial, AllowPartial: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		var names []string
		for _, r := range res.Rows {
			names = append(names, r.Name)
			if tc.partial != nil && len(r.Object()) != len(tc.partial) {
				t.Fatalf("%s: partial row %v", tc.q, r.Data)
			}
		}
		if tc.want != nil && strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %v, want %v", tc.q, names, tc.want)
		}
		if tc.want == nil && len(names) == 0 {
			t.Errorf("%s: no rows", tc.q)
		}
	}
}
