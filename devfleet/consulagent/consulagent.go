// Package consulagent runs a real Consul agent in -dev mode on loopback, with
// a free port for every listener, so tests and `shearch dev` can run many of
// them side by side.
package consulagent

import (
	"bytes"
	"context"
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
	"time"
)

// Options shape an agent; the zero value is fine.
type Options struct {
	// Binary is the consul executable; empty means FindBinary.
	Binary string
	// NodeName defaults to shearch-consul-<http port>.
	NodeName string
	// Log receives the agent's output. Nil keeps the tail in memory, shown
	// in errors when the agent fails to start.
	Log io.Writer
	// StartTimeout bounds waiting for a leader (60s).
	StartTimeout time.Duration
	// ExtraArgs are appended to the agent's command line.
	ExtraArgs []string
}

// Agent is a running consul dev agent.
type Agent struct {
	cmd      *exec.Cmd
	addr     string
	node     string
	out      *tailBuffer
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// Addr is the HTTP API address, 127.0.0.1:<port>.
func (a *Agent) Addr() string { return a.addr }

// URL is the HTTP API base URL.
func (a *Agent) URL() string { return "http://" + a.addr }

// NodeName is the agent's Consul node name.
func (a *Agent) NodeName() string { return a.node }

// Output is the tail of the agent's output (empty when Options.Log was set).
func (a *Agent) Output() string { return a.out.String() }

// FindBinary looks for consul in $SHEARCH_CONSUL, then bin/consul at the
// module root (found by walking up from the working directory to go.mod),
// then PATH.
func FindBinary() (string, error) {
	var looked []string
	if p := os.Getenv("SHEARCH_CONSUL"); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		looked = append(looked, "$SHEARCH_CONSUL="+p)
	} else {
		looked = append(looked, "$SHEARCH_CONSUL (unset)")
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, "bin", "consul")
		if isExecutable(p) {
			return p, nil
		}
		looked = append(looked, p)
	}
	if p, err := exec.LookPath("consul"); err == nil {
		return p, nil
	}
	looked = append(looked, "$PATH")
	return "", fmt.Errorf("consul binary not found (looked at %s): run `make deps` to build it into bin/", strings.Join(looked, ", "))
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs the agent and returns once it has a leader and its own node is
// in the catalog, so registrations made right away are served. ctx bounds
// the start-up only; the agent runs until Stop.
func Start(ctx context.Context, opts Options) (*Agent, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	// Free ports are only free until someone else takes them; with many
	// agents starting at once a clash is possible, and is retried.
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		a, err := start(ctx, bin, opts)
		if err == nil {
			return a, nil
		}
		lastErr = err
		if ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, bin string, opts Options) (*Agent, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, fmt.Errorf("consulagent: picking ports: %w", err)
	}
	httpPort, serfLAN, serfWAN, server := ports[0], ports[1], ports[2], ports[3]
	node := opts.NodeName
	if node == "" {
		node = "shearch-consul-" + strconv.Itoa(httpPort)
	}
	args := []string{"agent", "-dev",
		"-bind", "127.0.0.1", "-client", "127.0.0.1", "-advertise", "127.0.0.1",
		"-node", node,
		"-http-port", strconv.Itoa(httpPort),
		"-serf-lan-port", strconv.Itoa(serfLAN),
		"-serf-wan-port", strconv.Itoa(serfWAN),
		"-server-port", strconv.Itoa(server),
		"-dns-port", "-1", "-grpc-port", "-1", "-grpc-tls-port", "-1", "-https-port", "-1",
	}
	args = append(args, opts.ExtraArgs...)
	a := &Agent{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)), node: node,
		out: &tailBuffer{max: 64 << 10}, exited: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	var w io.Writer = a.out
	if opts.Log != nil {
		w = opts.Log
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("consulagent: starting %s: %w", bin, err)
	}
	a.cmd = cmd
	go func() {
		a.waitErr = cmd.Wait()
		close(a.exited)
	}()
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := a.waitReady(ctx); err != nil {
		_ = a.Stop()
		return nil, fmt.Errorf("consulagent: %s %s: %w\n%s", bin, strings.Join(args, " "), err, a.out.String())
	}
	return a, nil
}

func (a *Agent) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		select {
		case <-a.exited:
			return fmt.Errorf("agent exited before becoming ready: %v", a.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("agent not ready (%s): %w", last, ctx.Err())
		case <-tick.C:
		}
		leader, err := get(ctx, client, a.URL()+"/v1/status/leader")
		if err != nil || strings.Trim(strings.TrimSpace(leader), `"`) == "" {
			last = fmt.Sprintf("leader %q, %v", leader, err)
			continue
		}
		nodeInfo, err := get(ctx, client, a.URL()+"/v1/catalog/node/"+a.node)
		if err != nil || strings.TrimSpace(nodeInfo) == "null" {
			last = fmt.Sprintf("node %s not in catalog yet (%v)", a.node, err)
			continue
		}
		return nil
	}
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// Stop asks the agent to leave and waits for it, killing it after 10s.
// Stopping twice is harmless.
func (a *Agent) Stop() error {
	var err error
	a.stopOnce.Do(func() {
		_ = a.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.exited
			err = errors.New("consulagent: agent ignored SIGINT for 10s; killed")
		}
	})
	return err
}

// freePorts finds ports free for both TCP and UDP on loopback (Serf needs
// both), holding them all until every one is chosen so none repeats.
func freePorts(n int) ([]int, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100 {
			return nil, errors.New("no free TCP+UDP port pair on 127.0.0.1")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		closers = append(closers, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		closers = append(closers, pc)
		ports = append(ports, port)
	}
	return ports, nil
}

// tailBuffer keeps the last max bytes written, enough to explain a failure.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
