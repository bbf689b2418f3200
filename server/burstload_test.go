//go:build burst

package server_test

// The 2,000-request burst runs on its own (make test's second step, one
// package at a time, -tags burst): whether every distinct query can be
// served within search.max_wait depends on the shards' CPU, which a burst
// in another package running alongside would take.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/shards"
)

// burstQuery is one of the burst's distinct queries: an endpoint, a
// method and a query, whole objects or partial.
type burstQuery struct {
	path    string
	q       string
	partial bool
}

var burstRoles = []string{"web", "db", "cache", "lb", "worker", "monitoring"}

// burstQueries are n distinct queries, each matching a handful of the
// synthetic nodes on every shard (name:web-03* is web-0300..web-0399).
// Single terms: goiardi spends about 80 ms of CPU on one over 540 nodes,
// and 2.4 times that on an OR of two, so the burst measures Shearch's
// queueing rather than how fast three goiardi share two cores.
func burstQueries(n int) []burstQuery {
	out := make([]burstQuery, n)
	for i := range out {
		q := fmt.Sprintf("name:%s-0%d*", burstRoles[i%len(burstRoles)], i/len(burstRoles))
		path := "/v1/search/node"
		if i%2 == 1 {
			path = "/search/node" // Chef's own endpoint
		}
		out[i] = burstQuery{path: path, q: q, partial: i%4 >= 2}
	}
	return out
}

var burstPartial = []byte(`{"name":["name"],"ip":["ipaddress"],"env":["chef_environment"]}`)

// send asks q of base and returns the status, Retry-After and the names
// of the rows, in the order they came.
func (b burstQuery) send(hc *http.Client, base string) (status int, retryAfter string, names []string, err error) {
	u := base + b.path + "?q=" + url.QueryEscape(b.q)
	var res *http.Response
	if b.partial {
		res, err = hc.Post(u, "application/json", bytes.NewReader(burstPartial))
	} else {
		res, err = hc.Get(u)
	}
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		return res.StatusCode, res.Header.Get("Retry-After"), []string{string(body)}, err
	}
	var doc struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return res.StatusCode, "", nil, fmt.Errorf("%s: %v", b.path, err)
	}
	for _, raw := range doc.Rows {
		var r struct {
			Name string          `json:"name"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return res.StatusCode, "", nil, err
		}
		if r.Name == "" && len(r.Data) > 0 { // Chef partial rows: {"url":..., "data":{...}}
			var d struct {
				Name string `json:"name"`
			}
			json.Unmarshal(r.Data, &d)
			r.Name = d.Name
		}
		names = append(names, r.Name)
	}
	return res.StatusCode, "", names, nil
}

// The burst of issue 19: 2,000 concurrent requests over 50 distinct
// queries, 40 copies of each, over /v1/search and Chef's /search, whole
// objects and partial; three shards behind proxies adding 150 ms;
// shards.max_in_flight 4, search.max_waiting 64, search.max_wait 15s,
// shards.timeout 10s. Every shard sees at most 4 at once; every answer is
// a 200 with every row the query gives alone, or a 429/503 with
// Retry-After; never a 502; and every query gets at least one 200.
func TestBurstAnswersAreCompleteOrShed(t *testing.T) {
	const distinct, copies, limit = 50, 40, 4
	c := startBurstCluster(t)
	queries := burstQueries(distinct)
	// What each query gives alone, through an unloaded Shearch.
	alone := proxiedOver(t, c, 0, 10*time.Second, shards.GuardConfig{})
	want := make([][]string, distinct)
	aloneBegin := time.Now()
	defer func() {
		t.Logf("the %d queries one by one, unloaded: %s, %d shard requests", distinct, time.Since(aloneBegin).Round(time.Millisecond), alone.shardRequests())
	}()
	for i, q := range queries {
		status, _, names, err := q.send(http.DefaultClient, alone.srv.URL)
		if err != nil || status != 200 || len(names) == 0 {
			t.Fatalf("query %d (%s %s) alone: HTTP %d, %d rows, %v", i, q.path, q.q, status, len(names), err)
		}
		want[i] = names
	}

	p := proxiedOver(t, c, 150*time.Millisecond, 10*time.Second,
		shards.GuardConfig{MaxInFlight: limit, MaxWaiting: 64, MaxWait: 15 * time.Second})
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: distinct * copies}}
	defer hc.CloseIdleConnections()
	type outcome struct {
		status     int
		retryAfter string
		names      []string
		err        error
	}
	out := make([]outcome, distinct*copies)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	begin := time.Now()
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			var o outcome
			o.status, o.retryAfter, o.names, o.err = queries[i%distinct].send(hc, p.srv.URL)
			out[i] = o
		}()
	}
	close(startGun)
	wg.Wait()
	took := time.Since(begin)

	counts := map[int]int{}
	reasons := map[string]int{}
	served := make([]int, distinct)
	for i, o := range out {
		q := i % distinct
		counts[o.status]++
		switch {
		case o.err != nil:
			t.Errorf("client %d: %v", i, o.err)
		case o.status == 200:
			served[q]++
			if !slices.Equal(o.names, want[q]) {
				t.Errorf("client %d (%s %s): a 200 with %d rows, where the query alone gives %d", i, queries[q].path, queries[q].q, len(o.names), len(want[q]))
			}
		case (o.status == 429 || o.status == 503) && o.retryAfter != "":
			if len(o.names) > 0 {
				reasons[o.names[0]]++
			}
		default:
			t.Errorf("client %d: HTTP %d (Retry-After %q)", i, o.status, o.retryAfter)
		}
	}
	for q, n := range served {
		if n == 0 {
			t.Errorf("query %d (%s %s): none of its %d copies got a 200", q, queries[q].path, queries[q].q, copies)
		}
	}
	most := make([]int64, len(p.proxies))
	for i, cp := range p.proxies {
		most[i] = cp.Most()
		if cp.Most() > limit {
			t.Errorf("a shard saw %d requests at once, over max_in_flight %d", cp.Most(), limit)
		}
	}
	t.Logf("burst: %d requests in %s, statuses %v; most in flight per shard %v; shard requests %d",
		len(out), took.Round(time.Millisecond), counts, most, p.shardRequests())
	for r, n := range reasons {
		t.Logf("shed %d times: %s", n, strings.TrimSpace(r))
	}
}
