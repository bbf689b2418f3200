package consulagent_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/devfleet/consulagent"
	"github.com/shearch/shearch/internal/integration"
)

// Two agents side by side, each on its own loopback ports, each answering
// and accepting registrations; Stop frees the port.
func TestTwoAgentsSideBySide(t *testing.T) {
	integration.Needs(t, "consul")
	t.Parallel()
	var agents []*consulagent.Agent
	for range 2 {
		a, err := consulagent.Start(t.Context(), consulagent.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Stop() })
		agents = append(agents, a)
	}
	if agents[0].Addr() == agents[1].Addr() {
		t.Fatalf("both agents on %s", agents[0].Addr())
	}
	for _, a := range agents {
		host, _, _ := net.SplitHostPort(a.Addr())
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Fatalf("agent listens on %s, want loopback", a.Addr())
		}
		cfg := consulapi.DefaultConfig()
		cfg.Address = a.Addr()
		c, err := consulapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		leader, err := c.Status().Leader()
		if err != nil || leader == "" {
			t.Fatalf("leader %q: %v", leader, err)
		}
		if err := c.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{Name: "probe", Port: 1}); err != nil {
			t.Fatal(err)
		}
	}
	a := agents[0]
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.Dial("tcp", a.Addr()); err == nil {
		conn.Close()
		t.Fatalf("agent still listening on %s after Stop", a.Addr())
	}
}

// Without a binary the error says how to get one. Not parallel: it changes
// the working directory and the environment.
func TestMissingBinarySaysMakeDeps(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("PATH", t.TempDir())
	t.Setenv("SHEARCH_CONSUL", filepath.Join(t.TempDir(), "nope"))
	_, err := consulagent.Start(t.Context(), consulagent.Options{})
	if err == nil || !strings.Contains(err.Error(), "make deps") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v", err)
	}
}

// $SHEARCH_CONSUL wins over bin/consul.
func TestFindBinaryPrefersEnv(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "consul")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHEARCH_CONSUL", exe)
	got, err := consulagent.FindBinary()
	if err != nil || got != exe {
		t.Fatalf("FindBinary = %q, %v; want %q", got, err, exe)
	}
}
