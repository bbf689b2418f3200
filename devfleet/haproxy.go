package devfleet

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shearch/shearch/deploy"
)

// HAProxy is a real haproxy (Debian's package) running deploy/haproxy.cfg
// in front of Shearch replicas, on a free loopback port.
type HAProxy struct {
	URL  string
	Addr string
	Dir  string
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{}
}

// HAProxyBinary finds haproxy in $SHEARCH_HAPROXY, then PATH and
// /usr/sbin (Debian installs it there, outside a user's PATH).
func HAProxyBinary() (string, error) {
	if p := os.Getenv("SHEARCH_HAPROXY"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy", nil
	}
	return "", fmt.Errorf("haproxy not found in $SHEARCH_HAPROXY, PATH or /usr/sbin: run `make deps` (Debian package haproxy)")
}

var (
	bindLine   = regexp.MustCompile(`(?m)^(\s*bind\s+)\S+`)
	serverLine = regexp.MustCompile(`(?m)^\s*server\s.*\n`)
)

// HAProxyConfig is deploy/haproxy.cfg listening on listen and balancing
// over backends (HOST:PORT each); nothing else is changed.
func HAProxyConfig(listen string, backends []string) string {
	cfg := bindLine.ReplaceAllString(deploy.HAProxyConfig, "${1}"+listen)
	first := serverLine.FindStringIndex(cfg)
	if first == nil {
		return cfg
	}
	indent := cfg[first[0]:first[1]]
	indent = indent[:len(indent)-len(strings.TrimLeft(indent, " \t"))]
	var servers strings.Builder
	for i, b := range backends {
		fmt.Fprintf(&servers, "%sserver shearch-%d %s check\n", indent, i+1, b)
	}
	return cfg[:first[0]] + servers.String() + serverLine.ReplaceAllString(cfg[first[0]:], "")
}

// StartHAProxy runs haproxy in the foreground over backends, on a free
// loopback port, and returns once its frontend accepts connections.
func StartHAProxy(backends []string) (*HAProxy, error) { return StartHAProxyOn("", backends) }

// StartHAProxyOn is StartHAProxy listening on listen (HOST:PORT).
func StartHAProxyOn(listen string, backends []string) (*HAProxy, error) {
	bin, err := HAProxyBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "shearch-haproxy-")
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		addr := listen
		if addr == "" {
			port, err := FreePort("127.0.0.1")
			if err != nil {
				return nil, err
			}
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		h := &HAProxy{Addr: addr, Dir: dir, log: &tailBuffer{max: 64 << 10}}
		h.URL = "http://" + h.Addr
		path := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(path, []byte(HAProxyConfig(h.Addr, backends)), 0o644); err != nil {
			return nil, err
		}
		// -db: foreground, no daemon; -W: master-worker so a stop ends both.
		h.cmd = exec.Command(bin, "-db", "-W", "-f", path)
		h.cmd.SysProcAttr = procAttr()
		h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
		if err := h.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting haproxy: %v", err)
		}
		h.done = make(chan struct{})
		go func() { h.cmd.Wait(); close(h.done) }()
		if last = h.waitReady(); last == nil {
			return h, nil
		}
		h.kill()
		if listen != "" {
			break // a given address will not come free by trying again
		}
	}
	os.RemoveAll(dir)
	return nil, last
}

func (h *HAProxy) waitReady() error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-h.done:
			return fmt.Errorf("haproxy exited at start: %s", h.log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", h.Addr, time.Second); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("haproxy did not listen on %s within 15s: %s", h.Addr, h.log.String())
}

// Log is the tail of haproxy's output (its request log included).
func (h *HAProxy) Log() string { return h.log.String() }

func (h *HAProxy) kill() {
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Kill()
		<-h.done
	}
}

// Stop ends haproxy and removes its folder.
func (h *HAProxy) Stop() {
	if h == nil {
		return
	}
	h.kill()
	os.RemoveAll(h.Dir)
}
