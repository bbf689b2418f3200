package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/shards"
)

// fleetSpec is one benchmark fleet.
type fleetSpec struct {
	name          string
	shards, nodes int
}

var fleets = []fleetSpec{{"8x10k", 8, 10_000}, {"8x40k", 8, 40_000}, {"32x100k", 32, 100_000}}

// selected honours SHEARCH_BENCH_FLEETS=8x10k,8x40k (all when unset).
func selected() []fleetSpec {
	env := os.Getenv("SHEARCH_BENCH_FLEETS")
	if env == "" {
		return fleets
	}
	var out []fleetSpec
	for _, f := range fleets {
		if slices.Contains(strings.Split(env, ","), f.name) {
			out = append(out, f)
		}
	}
	return out
}

// scenarioTimeout bounds one scenario: a figure that does not finish in
// time is reported as such, not waited for. SHEARCH_BENCH_TIMEOUT=5m
// changes it.
var scenarioTimeout = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SHEARCH_BENCH_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 90 * time.Second
}()

var partialKeys = map[string][]string{"name": {"name"}, "ipaddress": {"ipaddress"}}

// BenchmarkScale runs each fleet's scenarios against a fresh shearch
// process each: the partial and whole-object NDJSON streams of *:* and
// a Chef-compatible walk of 1,000-row pages, reporting rows/s and the
// process's peak RSS; and, on 8x40k, the overhead of a 20-row page over
// the slowest shard's own answer with 20 ms latency on every shard.
func BenchmarkScale(b *testing.B) {
	key, err := fakeshard.WriteKey(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	binary(b, "shearch")
	for _, spec := range selected() {
		b.Run(spec.name, func(b *testing.B) {
			begin := time.Now()
			fleet, err := fakeshard.Fleet(spec.nodes, spec.shards, 42, fakeshard.Options{})
			if err != nil {
				b.Fatal(err)
			}
			list := make([]shards.Shard, len(fleet))
			for i, s := range fleet {
				s.Start()
				defer s.Close()
				list[i] = s.Config(fmt.Sprintf("shard%02d", i), "prod", key)
			}
			b.Logf("fleet %s generated and encoded in %s", spec.name, time.Since(begin).Round(time.Millisecond))
			runScenarios(b, spec, fleet, list)
			if spec.name == "8x40k" {
				overhead(b, fleet, list)
			}
		})
	}
}

func runScenarios(b *testing.B, spec fleetSpec, fleet []*fakeshard.Shard, list []shards.Shard) {
	scenarios := []struct {
		name string
		warm bool // the fake shards keep a partial answer once made
		run  func(ctx context.Context, base string, c *checked) error
	}{
		{"stream-partial", true, func(ctx context.Context, base string, c *checked) error { return stream(ctx, base, partialKeys, c) }},
		{"stream-whole", false, func(ctx context.Context, base string, c *checked) error { return stream(ctx, base, nil, c) }},
		{"walk-1000", false, walk},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			if sc.warm {
				p := startShearch(b, list, "")
				ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
				err := sc.run(ctx, p.URL, newChecked(spec.nodes))
				cancel()
				p.stop()
				if err != nil {
					b.Fatalf("warm-up: %v\n%s", err, tail(p.log.String()))
				}
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				p := startShearch(b, list, "")
				cpu0, flt0, _ := p.usage()
				c := newChecked(spec.nodes)
				ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
				b.StartTimer()
				begin := time.Now()
				err := sc.run(ctx, p.URL, c)
				took := time.Since(begin)
				b.StopTimer()
				cancel()
				rss, rssErr := p.peakRSS()
				cpu1, flt1, cpuErr := p.usage()
				p.stop()
				if err == nil {
					err = c.verify(spec.nodes)
				}
				if err != nil {
					b.Fatalf("%s %s after %s: %v\n%s", spec.name, sc.name, took.Round(time.Millisecond), err, tail(p.log.String()))
				}
				if err := errors.Join(rssErr, cpuErr); err != nil {
					b.Fatal(err)
				}
				cpu := cpu1 - cpu0
				b.ReportMetric(float64(c.rows)/took.Seconds(), "rows/s")
				b.ReportMetric(rss, "peak-RSS-MiB")
				b.ReportMetric(took.Seconds(), "s/scenario")
				b.ReportMetric(cpu, "shearch-cpu-s")
				b.ReportMetric(float64(flt1-flt0), "shearch-faults")
				b.Logf("FIGURE %s %s: %d rows in %s = %.0f rows/s, peak RSS %.1f MiB, shearch CPU %.2f s, %d page faults", spec.name, sc.name, c.rows, took.Round(time.Millisecond), float64(c.rows)/took.Seconds(), rss, cpu, flt1-flt0)
			}
		})
	}
}

// overhead compares a 20-row page of role:web AND chef_environment:prod
// through Shearch with the slowest shard's own answer to the same page,
// both with 20 ms latency on every shard; medians of 15 after a warm-up.
func overhead(b *testing.B, fleet []*fakeshard.Shard, list []shards.Shard) {
	const q = "role:web AND chef_environment:prod"
	const rounds = 15
	for _, s := range fleet {
		s.SetLatency(20 * time.Millisecond)
		defer s.SetLatency(0)
	}
	p := startShearch(b, list, "")
	defer p.stop()
	for _, mode := range []struct {
		name    string
		partial map[string][]string
	}{{"overhead-partial", partialKeys}, {"overhead-whole", nil}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ctx := context.Background()
				var direct, through, all []time.Duration
				for r := 0; r < rounds+1; r++ {
					d, err := slowestShard(ctx, fleet, q, mode.partial)
					if err != nil {
						b.Fatal(err)
					}
					// The floor: the slowest shard sending every match.
					a, err := slowestShardRows(ctx, fleet, q, mode.partial, 1000)
					if err != nil {
						b.Fatal(err)
					}
					begin := time.Now()
					n, err := page(ctx, p.URL, q, mode.partial)
					t := time.Since(begin)
					if err != nil {
						b.Fatalf("%v\n%s", err, tail(p.log.String()))
					}
					if n != 20 {
						b.Fatalf("a 20-row page had %d rows", n)
					}
					if r > 0 { // the first round warms the shards' query caches
						direct, through, all = append(direct, d), append(through, t), append(all, a)
					}
				}
				md, mt, ma := median(direct), median(through), median(all)
				b.ReportMetric(float64(ma)/float64(md), "floor-ratio")
				b.Logf("FIGURE 8x40k %s floor: the slowest shard sending every match %.1f ms, %.2fx its 20-row page", mode.name, float64(ma.Microseconds())/1000, float64(ma)/float64(md))
				b.ReportMetric(float64(mt.Microseconds())/1000, "shearch-ms")
				b.ReportMetric(float64(md.Microseconds())/1000, "slowest-shard-ms")
				b.ReportMetric(float64(mt)/float64(md), "ratio")
				b.Logf("FIGURE 8x40k %s: shearch %.1f ms, slowest shard %.1f ms, ratio %.2f", mode.name, float64(mt.Microseconds())/1000, float64(md.Microseconds())/1000, float64(mt)/float64(md))
				// Shearch's own CPU a page: the neighbours on a shared
				// machine inflate it far less than the wall clock.
				const cpuPages = 40
				cpu0, _, err := p.usage()
				for r := 0; r < cpuPages && err == nil; r++ {
					_, err = page(ctx, p.URL, q, mode.partial)
				}
				cpu1, _, uerr := p.usage()
				if err = errors.Join(err, uerr); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric((cpu1-cpu0)*1000/cpuPages, "shearch-cpu-ms/page")
				b.Logf("FIGURE 8x40k %s: shearch CPU %.2f ms a page (%d pages)", mode.name, (cpu1-cpu0)*1000/cpuPages, cpuPages)
			}
		})
	}
}

// slowestShard asks every shard for the page at once and returns the
// longest single answer.
func slowestShard(ctx context.Context, fleet []*fakeshard.Shard, q string, partial map[string][]string) (time.Duration, error) {
	return slowestShardRows(ctx, fleet, q, partial, 20)
}

// slowestShardRows is slowestShard for a page of rows rows: with a full
// page, every match, which a global name order needs of every shard.
func slowestShardRows(ctx context.Context, fleet []*fakeshard.Shard, q string, partial map[string][]string, rows int) (time.Duration, error) {
	var mu sync.Mutex
	var slowest time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for _, s := range fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			begin := time.Now()
			_, err := chefPage(ctx, s.URL()+"/search/node?q="+url.QueryEscape(q)+"&start=0&rows="+strconv.Itoa(rows), partial)
			t := time.Since(begin)
			mu.Lock()
			defer mu.Unlock()
			slowest = max(slowest, t)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return slowest, firstErr
}

// page asks Shearch's Chef-compatible endpoint for the first 20 rows.
func page(ctx context.Context, base, q string, partial map[string][]string) (int, error) {
	return chefPage(ctx, base+"/search/node?q="+url.QueryEscape(q)+"&start=0&rows=20", partial)
}

func chefPage(ctx context.Context, u string, partial map[string][]string) (int, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if partial != nil {
		bb, _ := json.Marshal(partial)
		method, body = http.MethodPost, bytes.NewReader(bb)
	}
	req, _ := http.NewRequestWithContext(ctx, method, u, body)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var pg struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.NewDecoder(res.Body).Decode(&pg); err != nil || res.StatusCode != 200 {
		return 0, fmt.Errorf("%s: HTTP %d, %v", u, res.StatusCode, err)
	}
	return len(pg.Rows), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
