package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
)

// gnifeRuns is how many whole gnife processes each figure is the median of.
const gnifeRuns = 30

// BenchmarkGnife times whole gnife processes as a user runs them: `gnife
// search node '*:*' -i` through a shearch process over 3 real goiardi
// shards of 400 nodes each, and `gnife --version`. Medians of 30. With
// SHEARCH_BENCH_BASELINE=DIR (DIR/shearch and DIR/gnife built from an
// older commit), the baseline runs too, each run interleaved with the
// current one, so both see the same machine load.
func BenchmarkGnife(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	type build struct {
		name  string
		gnife string
		env   []string
	}
	fx := devfleet.Synthetic(1200, 7, time.Now().Unix())
	c, err := devfleet.StartCluster(ctx, "gbench", "prod", 3, fx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	p := startShearch(b, c.ShardList(), "")
	defer p.stop()
	builds := []build{{"current", binary(b, "gnife"), append(os.Environ(), "SHEARCH_URL="+p.URL, "GNIFE_CONFIG=/dev/null")}}
	if dir := os.Getenv("SHEARCH_BENCH_BASELINE"); dir != "" {
		bp := startShearchBin(b, filepath.Join(dir, "shearch"), c.ShardList(), "")
		defer bp.stop()
		builds = append(builds, build{"baseline", filepath.Join(dir, "gnife"), append(os.Environ(), "SHEARCH_URL="+bp.URL, "GNIFE_CONFIG=/dev/null")})
	}

	for _, tc := range []struct {
		name  string
		args  []string
		check func(out string) error
	}{
		{"search-id-only", []string{"search", "node", "*:*", "-i"}, func(out string) error { return idOnly(out, len(fx.Nodes)) }},
		{"version", []string{"--version"}, nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				took := make([][]time.Duration, len(builds))
				for r := 0; r < gnifeRuns; r++ {
					for k, bd := range builds {
						cmd := exec.CommandContext(ctx, bd.gnife, tc.args...)
						cmd.Env = bd.env
						var out, errOut bytes.Buffer
						cmd.Stdout, cmd.Stderr = &out, &errOut
						begin := time.Now()
						err := cmd.Run()
						took[k] = append(took[k], time.Since(begin))
						if err != nil {
							b.Fatalf("%s gnife %v: %v\n%s", bd.name, tc.args, err, errOut.String())
						}
						if tc.check != nil {
							if err := tc.check(out.String()); err != nil {
								b.Fatalf("%s gnife %v: %v", bd.name, tc.args, err)
							}
						}
					}
				}
				for k, bd := range builds {
					m := median(took[k])
					b.ReportMetric(float64(m.Microseconds())/1000, bd.name+"-median-ms")
					b.Logf("FIGURE %s gnife %s: median %.1f ms of %d runs (min %.1f, max %.1f)", bd.name, strings.Join(tc.args, " "),
						float64(m.Microseconds())/1000, gnifeRuns, float64(minDur(took[k]).Microseconds())/1000, float64(maxDur(took[k]).Microseconds())/1000)
				}
			}
		})
	}
}

// idOnly checks knife's -i output: one "ID" line a node, each name once.
func idOnly(out string, want int) error {
	c := newChecked(want)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, ok := strings.CutPrefix(l, "ID: "); ok {
			c.add(id)
		} else if l != "" {
			c.add("unexpected line " + l)
		}
	}
	return c.verify(want)
}

func minDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
