package devfleet

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// BuildShearch builds cmd/shearch into dir and returns the binary's path
// (tests that signal real processes: SIGTERM, SIGKILL).
func BuildShearch(dir string) (string, error) {
	bin := filepath.Join(dir, "shearch")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/shearch/shearch/cmd/shearch").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build cmd/shearch: %v\n%s", err, out)
	}
	return bin, nil
}

// ShearchProc is one `shearch serve` process.
type ShearchProc struct {
	Bin, ConfigPath string
	// Addr is where it listens (the config's listen); URL its base.
	Addr, URL string

	mu      sync.Mutex
	cmd     *exec.Cmd
	log     *tailBuffer
	done    chan struct{}
	exitErr error
}

// StartShearch runs `bin serve --config configPath` and waits until it
// answers /healthz on addr.
func StartShearch(bin, configPath, addr string) (*ShearchProc, error) {
	p := &ShearchProc{Bin: bin, ConfigPath: configPath, Addr: addr, URL: "http://" + addr}
	return p, p.Start()
}

// Start starts the process again (after Stop, a kill or an exit).
func (p *ShearchProc) Start() error {
	p.mu.Lock()
	p.log = &tailBuffer{max: 256 << 10}
	p.cmd = exec.Command(p.Bin, "serve", "--config", p.ConfigPath)
	p.cmd.SysProcAttr = procAttr()
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("starting %s: %v", p.Bin, err)
	}
	done, cmd := make(chan struct{}), p.cmd
	p.done, p.exitErr = done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return fmt.Errorf("shearch exited at start: %v\n%s", p.ExitErr(), p.Log())
		default:
		}
		if res, err := http.Get(p.URL + "/healthz"); err == nil {
			res.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("shearch did not answer on %s within 30s:\n%s", p.URL, p.Log())
}

// Signal sends sig to the process.
func (p *ShearchProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return errors.New("shearch is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// Wait waits up to d for the process to exit and returns its exit error
// (nil for exit 0).
func (p *ShearchProc) Wait(d time.Duration) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return p.ExitErr()
	case <-time.After(d):
		return fmt.Errorf("shearch on %s still running after %s", p.Addr, d)
	}
}

// ExitErr is the last exit's error, nil for exit 0 or while running.
func (p *ShearchProc) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Log is the tail of the process's output.
func (p *ShearchProc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Stop kills the process if it still runs.
func (p *ShearchProc) Stop() {
	if p == nil {
		return
	}
	if p.Signal(syscall.SIGKILL) == nil {
		p.Wait(10 * time.Second)
	}
}

// tailBuffer keeps the last max bytes written, enough to explain a failure.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
