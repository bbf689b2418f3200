package gnife

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// BenchmarkStartup times whole gnife processes: `gnife --version`, and a
// search answered from Shearch's cache (the fan-out is not what is
// measured). The target is under 50 ms each.
func BenchmarkStartup(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "gnife")
	build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", bin, "../cmd/gnife") // as make build
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building gnife: %v\n%s", err, out)
	}
	f := startFleet(b)
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards(f.cluster.ShardList()), Cache: &search.Cache{TTL: time.Hour}})
	srv := httptest.NewServer(server.New(engine.Over(e), nil))
	defer srv.Close()
	if _, err := e.Search(context.Background(), search.Request{Index: "node", Query: "role:web", Rows: 1000,
		Partial: map[string][]string{"__display_name": {"name"}}}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"version", []string{"--version"}},
		{"cached-search", []string{"search", "node", "role:web", "-i"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(bin, tc.args...)
				cmd.Env = append(os.Environ(), "SHEARCH_URL="+srv.URL, "GNIFE_CONFIG=/dev/null")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", tc.args, err, out)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
		})
	}
}
