package service_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/integration"
)

// SIGTERM during a slow query: the query completes, new connections are
// refused, and the process exits 0.
func TestSIGTERMDrains(t *testing.T) {
	integration.Needs(t, "goiardi and a built shearch")
	dir := t.TempDir()
	bin := filepath.Join(dir, "shearch")
	// No deadline of ours on the build: on a busy machine it can take
	// minutes; the test binary's -timeout still bounds it.
	build := exec.Command("go", "build", "-o", bin, "../../cmd/shearch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := devfleet.StartGoiardi(ctx, devfleet.GoiardiOptions{Name: "chef-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	// Every shard request takes 2 s: a slow query to be in flight at SIGTERM.
	slow, err := devfleet.StartCountingProxy(g.URL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	port, err := devfleet.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := filepath.Join(dir, "shearch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: %s
shutdown_timeout: 20s
shutdown_delay: 0s
shards:
  timeout: 10s
  static:
    - {name: chef-1, url: %q, stack: prod, client_name: admin, client_key: %q}
`, addr, slow.URL, g.AdminKey)), 0o600)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shearch did not come up:\n%s", stderr.String())
		}
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		res, err := http.Get(base + "/v1/search/node?q=*:*")
		if err != nil {
			got <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- answer{status: res.StatusCode, body: string(b)}
	}()
	for slow.Open() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after SIGTERM")
	}
	a := <-got
	if a.err != nil || a.status != 200 {
		t.Fatalf("the query in flight at SIGTERM: %v HTTP %d %s", a.err, a.status, a.body)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("shearch still running 30s after SIGTERM:\n%s", stderr.String())
	}
}
