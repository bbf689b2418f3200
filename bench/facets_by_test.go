package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/search/result"
	"github.com/shearch/shearch/shards"
)

// maxFacetsByRSS is issue 24's bound on Shearch's peak RSS for a split
// facet or rollout answer over 3 shards of 40k nodes: counts are held,
// never rows.
const maxFacetsByRSS = 128.0

// BenchmarkFacetsBy counts facets split by environment and by shard, and
// a rollout by environment, over 40,000 nodes on 3 fast shards, each
// against a fresh shearch process: rows/s and the process's peak RSS,
// which must stay under 128 MiB.
func BenchmarkFacetsBy(b *testing.B) {
	const nodes, count = 40_000, 3
	key, err := fakeshard.WriteKey(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	binary(b, "shearch")
	begin := time.Now()
	fleet, err := fakeshard.Fleet(nodes, count, 42, fakeshard.Options{})
	if err != nil {
		b.Fatal(err)
	}
	list := make([]shards.Shard, len(fleet))
	for i, s := range fleet {
		s.Start()
		defer s.Close()
		list[i] = s.Config(fmt.Sprintf("shard%02d", i), "prod", key)
	}
	b.Logf("fleet 3x40k generated and encoded in %s", time.Since(begin).Round(time.Millisecond))
	scenarios := []struct {
		name, path string
		total      func([]byte) (int, error)
	}{
		{"facets-by-environment", "/v1/facets/node?q=*:*&attr=platform&attr=kernel.release&by=chef_environment", splitTotal},
		{"facets-by-shard", "/v1/facets/node?q=*:*&attr=platform&attr=kernel.release&by=shard", splitTotal},
		{"rollout-by-environment", "/v1/rollout/node?q=*:*&attr=platform_version&want=22.04&by=chef_environment", rolloutTotal},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			// The fake shards keep a partial answer once made: warm them
			// through a throw-away process, so the figure is Shearch's.
			p := startShearch(b, list, "")
			ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
			_, err := get(ctx, p.URL+sc.path)
			cancel()
			p.stop()
			if err != nil {
				b.Fatalf("warm-up: %v\n%s", err, tail(p.log.String()))
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				p := startShearch(b, list, "")
				ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
				b.StartTimer()
				t0 := time.Now()
				body, err := get(ctx, p.URL+sc.path)
				took := time.Since(t0)
				b.StopTimer()
				cancel()
				rss, rssErr := p.peakRSS()
				p.stop()
				if err != nil {
					b.Fatalf("%s: %v\n%s", sc.name, err, tail(p.log.String()))
				}
				if rssErr != nil {
					b.Fatal(rssErr)
				}
				n, err := sc.total(body)
				if err != nil || n != nodes {
					b.Fatalf("%s counted %d nodes (%v), want %d", sc.name, n, err, nodes)
				}
				b.ReportMetric(float64(n)/took.Seconds(), "rows/s")
				b.ReportMetric(rss, "peak-RSS-MiB")
				b.Logf("FIGURE 3x40k %s: %d rows in %s = %.0f rows/s, peak RSS %.1f MiB", sc.name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), rss)
				if rss >= maxFacetsByRSS {
					b.Errorf("%s: peak RSS %.1f MiB, over the %.0f MiB bound", sc.name, rss, maxFacetsByRSS)
				}
			}
		})
	}
}

func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		return nil, err
	}
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d: %s", res.StatusCode, raw)
	}
	return raw, nil
}

// splitTotal adds up the groups of a split facet answer.
func splitTotal(body []byte) (int, error) {
	var f result.Facets
	if err := json.Unmarshal(body, &f); err != nil || f.By == nil {
		return 0, fmt.Errorf("no by answer: %v", err)
	}
	n := 0
	for _, g := range f.By {
		n += g.Total
	}
	if f.ByOther != nil {
		n += f.ByOther.Total
	}
	return n, nil
}

func rolloutTotal(body []byte) (int, error) {
	var r result.Rollout
	if err := json.Unmarshal(body, &r); err != nil || r.All == nil {
		return 0, fmt.Errorf("no rollout answer: %v", err)
	}
	return r.All.Total, nil
}
