package apitest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// childEnv makes the test binary a bare client (childURL names the
// Shearch), so what it measures is the client's alone: the shards and
// Shearch live in the parent. "rows" streams every row and reports the
// heap; "break" leaves a stream after 10 rows and checks goroutines.
const (
	childEnv = "APITEST_CHILD"
	childURL = "APITEST_URL"
)

// Bounds of the stream acceptance test.
const (
	streamRows    = 100_000
	streamShards  = 4
	maxClientHeap = 16 << 20
)

// fastFleet is streamShards fake shards holding n small nodes between
// them, each behind a counting proxy, with a Shearch over the proxies.
type fastFleet struct {
	srv     *httptest.Server
	proxies []*devfleet.CountingProxy
}

func startFastFleet(t *testing.T, n int) *fastFleet {
	t.Helper()
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fastFleet{}
	var list []shards.Shard
	for i := 0; i < streamShards; i++ {
		s := fakeshard.New(fakeshard.Options{}).Start()
		t.Cleanup(s.Close)
		for j := i; j < n; j += streamShards {
			name := fmt.Sprintf("node-%06d.example.com", j)
			raw := fmt.Sprintf(`{"name":%q,"chef_type":"node","json_class":"Chef::Node","chef_environment":"prod","run_list":["role[web]"],"automatic":{"ipaddress":"10.%d.%d.%d","ohai_time":%d}}`,
				name, j>>16&255, j>>8&255, j&255, fakeshard.Clock)
			if err := s.AddRaw("node", name, []byte(raw)); err != nil {
				t.Fatal(err)
			}
		}
		cp, err := devfleet.StartCountingProxy(strings.TrimSuffix(s.URL(), "/organizations/fake"), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cp.Close)
		f.proxies = append(f.proxies, cp)
		sh := s.Config(fmt.Sprintf("fast-%d", i+1), "prod", key)
		sh.URL = cp.URL + "/organizations/fake"
		list = append(list, sh)
	}
	f.srv = httptest.NewServer(server.New(engineOver(list, shards.DefaultGuardConfig), quiet()))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fastFleet) open() int64 {
	var n int64
	for _, p := range f.proxies {
		n += p.Open()
	}
	return n
}

// Acceptance: 100,000 partial rows stream through Rows with the client's
// heap under 16 MiB, measured in a process that is only the client.
func TestRowsHeap(t *testing.T) {
	f := startFastFleet(t, streamRows)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=rows", childURL+"="+f.srv.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the client process failed: %v\n%s%s", err, out, stderr.String())
	}
	var rep struct{ Rows, PeakHeap int }
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("the client process said %q: %v", out, err)
	}
	t.Logf("%d rows streamed, client peak heap %.1f MiB", rep.Rows, float64(rep.PeakHeap)/(1<<20))
	if rep.Rows != streamRows {
		t.Errorf("%d rows streamed, want %d", rep.Rows, streamRows)
	}
	if rep.PeakHeap >= maxClientHeap {
		t.Errorf("client peak heap %d bytes, want under %d", rep.PeakHeap, maxClientHeap)
	}
}

// runChild is the client process of the stream tests; it returns the
// exit code.
func runChild() int {
	c, err := api.NewClient(&api.Config{Addresses: []string{os.Getenv(childURL)}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if os.Getenv(childEnv) == "break" {
		return breakChild(c)
	}
	var ms runtime.MemStats
	peak, n := uint64(0), 0
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	sample()
	opts := &api.SearchOptions{Partial: map[string][]string{"ip": {"ipaddress"}}}
	for row, err := range c.Rows(context.Background(), "node", "*:*", opts) {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var v struct{ IP string }
		if err := row.Decode(&v); err != nil || v.IP == "" {
			fmt.Fprintf(os.Stderr, "row %s: %v %q\n", row.Name, err, row.Data)
			return 1
		}
		if n++; n%500 == 0 {
			sample()
		}
	}
	sample()
	fmt.Printf(`{"Rows":%d,"PeakHeap":%s}`, n, strconv.FormatUint(peak, 10))
	return 0
}

// Acceptance: breaking out of Rows after 10 rows leaves no goroutine of
// the client's (goleak, in a process that is only the client) and, 1 s
// later, no request open at any shard.
func TestRowsBreakCloses(t *testing.T) {
	f := startFastFleet(t, 40_000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=break", childURL+"="+f.srv.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The client says when it has left the loop, checked its goroutines
	// and waited a second; it stays alive (its connections too, were any
	// left open) until the shards are checked.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	open := f.open()
	stdin.Close()
	werr := cmd.Wait()
	if err != nil || werr != nil || strings.TrimSpace(line) != "left after 10 rows, no goroutine left" {
		t.Fatalf("the client process said %q (%v, %v)\n%s", line, err, werr, stderr.String())
	}
	if open != 0 {
		t.Errorf("%d shard requests still open 1 s after the client left the loop", open)
	}
}

// breakChild leaves a stream after 10 rows, then checks that nothing of
// the client runs, waits a second and says so; it exits when stdin closes.
func breakChild(c *api.Client) int {
	ignore := goleak.IgnoreCurrent()
	n := 0
	opts := &api.SearchOptions{Partial: map[string][]string{"ip": {"ipaddress"}}, Order: "none"}
	for _, err := range c.Rows(context.Background(), "node", "*:*", opts) {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if n++; n == 10 {
			break
		}
	}
	if n != 10 {
		fmt.Fprintf(os.Stderr, "%d rows before the break, want 10\n", n)
		return 1
	}
	// A broken stream's connection is closed, not kept: no idle one to
	// close here, and none may be left running.
	if err := goleak.Find(ignore); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	time.Sleep(time.Second)
	fmt.Println("left after 10 rows, no goroutine left")
	io.Copy(io.Discard, os.Stdin)
	return 0
}
