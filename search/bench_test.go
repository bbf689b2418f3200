package search

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shearch/shearch/search/result"
)

// The engine data path over in-process fake shards: an NDJSON-like stream
// (rows encoded as the API does, to io.Discard), partial and whole, and a
// Chef-compatible walk of 1,000-row pages. BENCH_NODES / BENCH_SHARDS /
// BENCH_NODE_BYTES size the fleet (default 40,000 nodes of 10 KB over 8
// shards). Peak heap is sampled every 5 ms and covers the whole test
// process, fake shards included.

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchFleet(b *testing.B) (*Engine, int) {
	nodes := benchEnv("BENCH_NODES", 40000)
	nShards := benchEnv("BENCH_SHARDS", 8)
	size := benchEnv("BENCH_NODE_BYTES", 10000)
	var fs []*dataShard
	for i := 0; i < nShards; i++ {
		fs = append(fs, newDataShard(b, fmt.Sprintf("s%02d", i), nodes/nShards, size, nil))
	}
	return dataEngine(b, fs...), nodes / nShards * nShards
}

// peakHeap samples the heap in use until stop is called.
func peakHeap() (stop func() uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// cpuTime is the process's user+system CPU time: on a shared machine the
// wall clock says more about the neighbours than about Shearch.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkStream(b *testing.B) {
	e, total := benchFleet(b)
	for _, tc := range []struct {
		name    string
		partial map[string][]string
		order   string
	}{
		{"partial", map[string][]string{"name": {"name"}, "ipaddress": {"ipaddress"}}, ""},
		{"partial-order-none", map[string][]string{"name": {"name"}, "ipaddress": {"ipaddress"}}, OrderNone},
		{"whole", nil, ""},
		{"whole-order-none", nil, OrderNone},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var line []byte
			stop := peakHeap()
			begin, cpu := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				seen := make(map[string]struct{}, total)
				_, err := e.Stream(context.Background(), Request{Index: "node", Query: "*:*", Partial: tc.partial, Order: tc.order}, nil, func(r Row) error {
					seen[r.Name] = struct{}{}
					line = append(result.AppendRow(line[:0], r), '\n')
					_, err := io.Discard.Write(line)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				if len(seen) != total {
					b.Fatalf("%d distinct rows, want %d", len(seen), total)
				}
			}
			b.ReportMetric(float64(total*b.N)/time.Since(begin).Seconds(), "rows/s")
			b.ReportMetric(float64(total*b.N)/(cpuTime()-cpu).Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
		})
	}
}

func BenchmarkWalk(b *testing.B) {
	e, total := benchFleet(b)
	stop := peakHeap()
	begin, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		seen := make(map[string]struct{}, total)
		for start := 0; start < total; start += 1000 {
			res, err := e.Search(context.Background(), Request{Index: "node", Query: "*:*", Start: start})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res.Rows {
				seen[r.Name] = struct{}{}
			}
			// As the API would: the page goes out as JSON.
			if err := json.NewEncoder(io.Discard).Encode(res); err != nil {
				b.Fatal(err)
			}
		}
		if len(seen) != total {
			b.Fatalf("%d distinct rows, want %d", len(seen), total)
		}
	}
	b.ReportMetric(float64(total*b.N)/time.Since(begin).Seconds(), "rows/s")
	b.ReportMetric(float64(total*b.N)/(cpuTime()-cpu).Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
}

// BenchmarkSmallPartialPage is a 20-row partial page of every node, the
// work behind a report's first page: every shard sends all its matches,
// Shearch merges them and keeps 20. BENCH_NODES=4000 is the overhead
// benchmark's 500 matches a shard over 8 shards.
func BenchmarkSmallPartialPage(b *testing.B) {
	e, _ := benchFleet(b)
	keys := map[string][]string{"name": {"name"}, "ip": {"ipaddress"}}
	ctx := context.Background()
	if _, err := e.Search(ctx, Request{Index: "node", Query: "*:*", Partial: keys, Rows: 20}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	begin := cpuTime()
	for i := 0; i < b.N; i++ {
		res, err := e.Search(ctx, Request{Index: "node", Query: "*:*", Partial: keys, Rows: 20})
		if err != nil || len(res.Rows) != 20 {
			b.Fatalf("%v, %d rows", err, len(res.Rows))
		}
	}
	b.ReportMetric(float64((cpuTime()-begin).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
