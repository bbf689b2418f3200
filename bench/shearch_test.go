package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shearch/shearch/shards"
)

var binaries struct {
	sync.Once
	dir string
	err error
}

// binary builds ./cmd/NAME once per run and returns its path.
func binary(tb testing.TB, name string) string {
	tb.Helper()
	binaries.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "shearch-bench-")
		if binaries.err != nil {
			return
		}
		for _, n := range []string{"shearch", "gnife"} {
			// Built as `make build` builds them.
			cmd := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w", "-o", filepath.Join(binaries.dir, n), "./cmd/"+n)
			cmd.Dir = ".."
			if n == "gnife" {
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				binaries.err = fmt.Errorf("go build ./cmd/%s: %v\n%s", n, err, out)
				return
			}
		}
	})
	if binaries.err != nil {
		tb.Fatal(binaries.err)
	}
	return filepath.Join(binaries.dir, name)
}

// shearchProc is one shearch serve process.
type shearchProc struct {
	cmd  *exec.Cmd
	URL  string
	log  *bytes.Buffer
	done chan error
}

// startShearch serves the shards from a fresh process, so the peak RSS
// read afterwards is one scenario's.
func startShearch(tb testing.TB, list []shards.Shard, extra string) *shearchProc {
	tb.Helper()
	bin := os.Getenv("SHEARCH_BENCH_SHEARCH") // another build, for a baseline
	if bin == "" {
		bin = binary(tb, "shearch")
	}
	return startShearchBin(tb, bin, list, extra)
}

// startShearchBin is startShearch with a given shearch binary.
func startShearchBin(tb testing.TB, bin string, list []shards.Shard, extra string) *shearchProc {
	tb.Helper()
	dir := tb.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "default_stack: prod\nshards:\n  timeout: 60s\n  static:\n")
	for _, s := range list {
		fmt.Fprintf(&cfg, "    - name: %s\n      url: %s\n      stack: %s\n      client_name: %s\n      client_key: %s\n", s.Name, s.URL, s.Stack, s.ClientName, s.ClientKey)
	}
	cfg.WriteString(extra)
	path := filepath.Join(dir, "shearch.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := &shearchProc{URL: "http://" + addr, log: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve", "--config", path, "--listen", addr)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.URL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			tb.Fatalf("shearch exited at start-up: %v\n%s", err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			tb.Fatalf("shearch did not answer /healthz within 20s\n%s", p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peakRSS is the process's VmHWM in MiB.
func (p *shearchProc) peakRSS() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// usage is the CPU time (user and system, seconds) the process has used
// and its minor page faults: on these VMs a first touch of a page costs
// about 16 µs, so heap growth shows as CPU.
func (p *shearchProc) usage() (cpu float64, faults int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; fields count from its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	minflt, err0 := strconv.ParseInt(f[7], 10, 64)
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err0, err1, err2); err != nil {
		return 0, 0, err
	}
	const ticks = 100 // USER_HZ on Linux
	return (utime + stime) / ticks, minflt, nil
}

func (p *shearchProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checked is what a scenario's client saw: rows, each name once.
type checked struct {
	rows  int
	dupes int
	names map[string]struct{}
}

func newChecked(capacity int) *checked { return &checked{names: make(map[string]struct{}, capacity)} }

func (c *checked) add(name string) {
	if _, ok := c.names[name]; ok {
		c.dupes++
	}
	c.names[name] = struct{}{}
	c.rows++
}

func (c *checked) verify(want int) error {
	if c.rows != want || c.dupes != 0 {
		return fmt.Errorf("got %d rows (%d names twice), want %d once each", c.rows, c.dupes, want)
	}
	return nil
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

// stream reads an NDJSON search to its summary line.
func stream(ctx context.Context, base string, partial map[string][]string, c *checked) error {
	u := base + "/v1/search/node?q=" + "%2A%3A%2A"
	method, body := http.MethodGet, io.Reader(nil)
	if partial != nil {
		b, _ := json.Marshal(partial)
		method, body = http.MethodPost, bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, u, body)
	req.Header.Set("Accept", "application/x-ndjson")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1000))
		return fmt.Errorf("HTTP %d: %s", res.StatusCode, b)
	}
	rd := bufio.NewReaderSize(res.Body, 1<<20)
	for {
		line, err := rd.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A whole node is longer than the buffer only if it is
			// huge; read the rest of the line.
			rest, err2 := rd.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return errors.New("the stream ended without a summary line")
			}
			return err
		}
		if name, ok := leadingName(line); ok {
			c.add(name)
			continue
		}
		var m struct {
			Name    *string         `json:"name"`
			Summary json.RawMessage `json:"summary"`
			Error   []string        `json:"error"`
		}
		if jerr := json.Unmarshal(line, &m); jerr != nil {
			return fmt.Errorf("a stream line is not JSON: %v: %.200s", jerr, line)
		}
		switch {
		case m.Name != nil:
			c.add(*m.Name)
		case m.Error != nil:
			return fmt.Errorf("the stream ended with an error: %v", m.Error)
		case m.Summary != nil:
			return nil
		}
	}
}

// leadingName reads `{"name":"X",` without decoding a 10 KB row: the
// client shares the machine's two cores with Shearch.
func leadingName(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"name":"`))
	if !ok {
		return "", false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", false
	}
	return string(rest[:end]), true
}

// walk pages through a Chef-compatible search as knife does: rows=1000,
// start advancing until total.
func walk(ctx context.Context, base string, c *checked) error {
	for start := 0; ; start += 1000 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/search/node?q=%%2A%%3A%%2A&start=%d&rows=1000", base, start), nil)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		var page struct {
			Total int `json:"total"`
			Rows  []struct {
				Name string `json:"name"`
			} `json:"rows"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if res.StatusCode != 200 || err != nil {
			return fmt.Errorf("page at %d: HTTP %d, %v", start, res.StatusCode, err)
		}
		for _, r := range page.Rows {
			c.add(r.Name)
		}
		if len(page.Rows) == 0 || start+len(page.Rows) >= page.Total {
			return nil
		}
	}
}
