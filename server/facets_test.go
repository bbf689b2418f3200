package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/search/result"
)

// lookup finds a dotted path in a whole node as Chef's partial search
// does: a top-level key first, else the attributes, automatic winning
// over override, normal and default.
func lookup(node map[string]any, path string) any {
	segs := strings.Split(path, ".")
	if v, ok := node[segs[0]]; ok {
		return walkPath(v, segs[1:])
	}
	for _, level := range []string{"automatic", "override", "normal", "default"} {
		if v := walkPath(node[level], segs); v != nil {
			return v
		}
	}
	return nil
}

func walkPath(v any, segs []string) any {
	for _, s := range segs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[s]
	}
	return v
}

// ndjsonExport reads the whole result of q as whole nodes, one a line.
func ndjsonExport(t *testing.T, base, q string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/search/node?q="+q, nil)
	req.Header.Set("Accept", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Data    map[string]any `json:"data"`
			Summary any            `json:"summary"`
			Error   []string       `json:"error"`
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		if line.Error != nil {
			t.Fatalf("ndjson export failed: %v", line.Error)
		}
		if line.Summary == nil {
			rows = append(rows, line.Data)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Over a 5,000-node synthetic fleet on 3 shards, with one node also on a
// second shard (an older copy with other values), the facet counts equal
// counts made from a full NDJSON export of whole nodes; the duplicate
// counts once, as the copy search keeps. The CSV download of the same
// result streams and reads back in Python's csv module with every row.
func TestFacetsAndCSVOverSyntheticFleet(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	fx := devfleet.Synthetic(5000, 13, time.Now().Unix())
	began := time.Now()
	f, err := fleettest.Start(ctx, 3, fx, func(f *fleettest.Fleet) { f.Engine.Timeout = 60 * time.Second })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Logf("5,000 nodes loaded into 3 goiardi shards in %s", time.Since(began).Round(time.Millisecond))

	// The same node, older and on another platform, on a second shard.
	orig := fx.Nodes[0]
	name := orig["name"].(string)
	home := devfleet.ShardOf(name, 3)
	other := (home + 1) % 3
	var stale map[string]any
	b, _ := json.Marshal(orig)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	dec.Decode(&stale)
	auto := stale["automatic"].(map[string]any)
	auto["platform"] = "stale-os"
	auto["kernel"].(map[string]any)["release"] = "0.0.0-stale"
	auto["ohai_time"] = json.Number("1000000000")
	admin, err := f.Cluster.Shards[other].Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Do(ctx, "POST", shards.CollectionPath(shards.Nodes), stale); err != nil {
		t.Fatalf("posting the stale copy of %s to %s: %v", name, f.Cluster.Shards[other].Name, err)
	}

	attrs := []string{"platform", "kernel.release", "tags", "cpu.total"}
	t0 := time.Now()
	counted, err := f.Client.Facets(ctx, "node", "*:*", attrs, &api.FacetOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("facets of 4 attributes over 5,000 nodes: %s", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	rows := ndjsonExport(t, f.HTTP.URL, "*:*")
	t.Logf("full NDJSON export of whole nodes: %d rows in %s", len(rows), time.Since(t0).Round(time.Millisecond))
	if len(rows) != 5000 || counted.Total != 5000 {
		t.Fatalf("export has %d rows, facets total %d; want 5000 (the duplicate once)", len(rows), counted.Total)
	}
	for _, a := range attrs {
		want := result.FacetCounts{Values: map[string]int{}}
		for _, r := range rows {
			vals, missing := facets.Values(lookup(r, a))
			if missing {
				want.Missing++
			}
			for _, v := range vals {
				want.Values[v]++
			}
		}
		got := counted.Facets[a]
		if got == nil || !reflect.DeepEqual(got.Values, want.Values) || got.Missing != want.Missing {
			t.Errorf("facet %s:\n got %+v\nwant %+v", a, got, want)
		}
		if len(want.Values) < 2 {
			t.Errorf("facet %s has %d values: the fleet does not exercise it", a, len(want.Values))
		}
	}
	if n := counted.Facets["platform"].Values["stale-os"]; n != 0 {
		t.Errorf("the stale copy of %s was counted (%d)", name, n)
	}
	found := false
	for _, d := range counted.Duplicates {
		if d.Name == name {
			found = true
			if d.Kept != f.Cluster.Shards[home].Name {
				t.Errorf("duplicate %s kept on %s, want %s", name, d.Kept, f.Cluster.Shards[home].Name)
			}
		}
	}
	if !found {
		t.Errorf("duplicate %s not reported: %+v", name, counted.Duplicates)
	}
	sum := 0
	for shard, sf := range counted.ByShard {
		sum += sf.Total
		n := 0
		for _, c := range sf.Facets["platform"].Values {
			n += c
		}
		if n+sf.Facets["platform"].Missing != sf.Total {
			t.Errorf("by_shard %s: platform counts add to %d, total %d", shard, n, sf.Total)
		}
	}
	if sum != 5000 || len(counted.ByShard) != 3 {
		t.Errorf("by_shard totals add to %d over %d shards, want 5000 over 3", sum, len(counted.ByShard))
	}

	checkCSVDownload(t, f.HTTP.URL, attrs[:3])
}

// checkCSVDownload streams the whole result as CSV to a file while
// sampling this process's heap (the server runs in it), then counts the
// rows with Python's csv module.
func checkCSVDownload(t *testing.T, base string, attrs []string) {
	t.Helper()
	q := "q=*:*&format=csv"
	for _, a := range attrs {
		q += "&attr=" + a
	}
	// A low GC target keeps the heap close to what is live, so the peak
	// measures what the download holds rather than uncollected garbage.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()
	t0 := time.Now()
	res, err := http.Get(base + "/v1/export/node?" + q)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV export: HTTP %d, Content-Type %q, Content-Disposition %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	if res.ContentLength != -1 {
		t.Errorf("CSV export has Content-Length %d: it was buffered, not streamed", res.ContentLength)
	}
	path := filepath.Join(t.TempDir(), "fleet.csv")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(out, res.Body)
	out.Close()
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(peak.Load()) - int64(baseline)
	t.Logf("CSV of the whole result: %d bytes in %s; heap peak %.1f MiB above the %.1f MiB before it",
		n, time.Since(t0).Round(time.Millisecond), float64(growth)/(1<<20), float64(baseline)/(1<<20))
	// Measured here: 12 MiB, the merged partial rows of 5,000 nodes
	// (names, shard, three attributes) and a 100-row CSV buffer. The
	// bound catches a regression to holding whole nodes (about 1.5 KB of
	// JSON each, several times that as Go maps) or the whole CSV.
	if growth > 20<<20 {
		t.Errorf("heap grew %.1f MiB during the CSV download: rows are being held, not streamed", float64(growth)/(1<<20))
	}

	py := exec.Command("python3", "-c", `
import csv, sys
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f))
print(",".join(rows[0]))
print(len(rows) - 1)
print(len({len(r) for r in rows}))
`, path)
	got, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 csv: %v\n%s", err, got)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	want := []string{"name,shard,source," + strings.Join(attrs, ","), strconv.Itoa(5000), "1"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("python csv read: %q, want header, 5000 rows, one row width: %q", lines, want)
	}
}
