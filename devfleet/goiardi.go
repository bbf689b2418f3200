// Package devfleet starts real Chef servers (goiardi) for tests and the
// demo, and loads Chef data into them through signed API calls.
package devfleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shearch/shearch/shards"
)

// Goiardi is one running goiardi server with authentication on.
type Goiardi struct {
	Name string
	URL  string
	Port int
	// AdminKey is the path of the admin.pem goiardi generated at start.
	AdminKey string
	Dir      string

	cmd     *exec.Cmd
	log     *bytes.Buffer
	done    chan struct{}
	ownsDir bool
}

// GoiardiOptions says how to start a goiardi.
type GoiardiOptions struct {
	Name string
	// Host is the loopback address to bind (127.0.0.1 when empty).
	Host string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// Dir is the conf-root; a temporary directory when empty.
	Dir string
}

// GoiardiBinary finds goiardi: $SHEARCH_GOIARDI, then PATH.
func GoiardiBinary() (string, error) {
	if p := os.Getenv("SHEARCH_GOIARDI"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("goiardi")
	if err != nil {
		return "", errors.New("goiardi not found on PATH: run `make deps` (it installs the Debian package goiardi)")
	}
	return p, nil
}

// StartGoiardi starts goiardi in memory with signed auth (-A) and waits
// until it answers a signed request.
func StartGoiardi(ctx context.Context, o GoiardiOptions) (*Goiardi, error) {
	bin, err := GoiardiBinary()
	if err != nil {
		return nil, err
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	g := &Goiardi{Name: o.Name, Dir: o.Dir}
	if g.Dir == "" {
		d, err := os.MkdirTemp("", "goiardi-")
		if err != nil {
			return nil, err
		}
		g.Dir, g.ownsDir = d, true
	}
	// A free port can be taken between our probe and goiardi's bind;
	// try a few times rather than fail a test run on a race.
	for attempt := 0; attempt < 5; attempt++ {
		port := o.Port
		if port == 0 {
			if port, err = FreePort(host); err != nil {
				return nil, err
			}
		}
		g.Port = port
		g.URL = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
		g.AdminKey = filepath.Join(g.Dir, "admin.pem")
		os.Remove(g.AdminKey)
		g.log = &bytes.Buffer{}
		g.cmd = exec.Command(bin, "-I", host, "-H", host, "-P", strconv.Itoa(port), "--conf-root", g.Dir, "-A")
		g.cmd.SysProcAttr = procAttr()
		g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
		if err := g.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting goiardi: %v", err)
		}
		g.done = make(chan struct{})
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(g.cmd, g.done)
		err = g.waitReady(ctx)
		if err == nil {
			return g, nil
		}
		g.kill()
		if o.Port != 0 || ctx.Err() != nil {
			break
		}
	}
	if g.ownsDir {
		os.RemoveAll(g.Dir)
	}
	return nil, fmt.Errorf("goiardi %s did not come up on %s: %v", o.Name, g.URL, err)
}

func (g *Goiardi) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			return fmt.Errorf("goiardi exited: %s", g.log.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := os.Stat(g.AdminKey); err != nil {
			last = err
			continue
		}
		c, err := g.Client()
		if err != nil {
			last = err
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = c.Do(rctx, "GET", shards.CollectionPath(shards.Environments), nil)
		cancel()
		if err == nil {
			return nil
		}
		last = err
	}
	return fmt.Errorf("not ready after 30s: %v", last)
}

// Shard describes this server as a shard of the given stack.
func (g *Goiardi) Shard(stack string) shards.Shard {
	return shards.Shard{Name: g.Name, URL: g.URL, Stack: stack, ClientName: "admin",
		ClientKey: g.AdminKey, Source: shards.SourceStatic, Health: shards.HealthUnknown}
}

// Client is a signed admin client for this server.
func (g *Goiardi) Client() (*shards.Client, error) {
	return shards.NewClient(g.Shard(""))
}

// Stop kills the server (its data is in memory only) and removes a
// conf-root it created. Safe to call twice.
func (g *Goiardi) Stop() {
	g.kill()
	if g.ownsDir {
		os.RemoveAll(g.Dir)
	}
}

func (g *Goiardi) kill() {
	if g.cmd != nil && g.cmd.Process != nil {
		g.cmd.Process.Kill()
		<-g.done
	}
}

// Running reports whether the process is still up.
func (g *Goiardi) Running() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// FreePort asks the kernel for a free TCP port on host.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
