package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
)

// SIGHUP re-reads auth.writers from the config file: a writer removed
// there is refused a write (403) once the signal is handled, and a broken
// config file keeps the writers in force.
func TestSIGHUPReloadsWriters(t *testing.T) {
	yaml, _ := authYAML(t, "t\n", "  writers: [alice]\n")
	keyFile := regexp.MustCompile(`client_key: (\S+)`).FindStringSubmatch(yaml)[1]
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "shearch.yaml")
	os.WriteFile(file, []byte(yaml), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.ConfigFile = file
	srv := httptest.NewServer(svc.Server)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc.ReloadOn(ctx, syscall.SIGHUP)

	c, err := chef.NewClient(&chef.Config{Name: "alice", Key: string(key), BaseURL: srv.URL + "/", AuthenticationVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	write := func() int {
		// Each write is new (its body differs), so none is a replay.
		n++
		b, _ := json.Marshal(map[string]any{"name": "web", "description": fmt.Sprint("try ", n)})
		req, err := c.NewRequest("PUT", "roles/web", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// A writer: past auth, the unreachable shard fails the write.
	if got := write(); got == 401 || got == 403 {
		t.Fatalf("alice, a writer, is refused: %d", got)
	}
	os.WriteFile(file, []byte(strings.Replace(yaml, "  writers: [alice]\n", "  writers: []\n", 1)), 0o600)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	refused := false
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !refused; time.Sleep(10 * time.Millisecond) {
		refused = write() == 403
	}
	if !refused {
		t.Fatal("alice, removed from auth.writers, may still write 5s after SIGHUP")
	}
	// A broken file that would list her again: the reload fails, she stays out.
	os.WriteFile(file, []byte(yaml+"  bogus: [\n"), 0o600)
	if err := svc.Reload(); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("reload of a broken config file: %v", err)
	}
	if got := write(); got != 403 {
		t.Fatalf("after a failed reload alice gets %d, want 403", got)
	}
}
