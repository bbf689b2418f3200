package replica_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
)

// Acceptance 2, the clients' part: with one of two replicas killed, gnife
// with both URLs in SHEARCH_URL answers every command with exit 0, and the
// Go client with both addresses answers every call; each move to the
// other replica is one line (stderr, slog).
func TestClientsFailOverWhenAReplicaDies(t *testing.T) {
	e := getEnv(t)
	gnife := filepath.Join(e.dir, "gnife")
	if _, err := os.Stat(gnife); err != nil {
		if out, err := exec.Command("go", "build", "-o", gnife, "github.com/shearch/shearch/cmd/gnife").CombinedOutput(); err != nil {
			t.Fatalf("go build cmd/gnife: %v\n%s", err, out)
		}
	}
	procs, _ := e.startReplicas(t, 2, replicaOpts{service: "shearch-failover", maxInFlight: 16, shutdownDelay: time.Second})
	urls := procs[0].URL + "," + procs[1].URL
	if err := procs[0].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[0].Wait(10 * time.Second)

	name := firstNode(t, procs[1].URL)
	commands := [][]string{
		{"search", "node", "role:db", "-i"},
		{"node", "show", name},
		{"node", "list"},
		{"role", "list"},
		{"shards"},
	}
	moves := 0
	// gnife starts at a random URL: run each command a few times so some
	// runs start at the dead replica.
	for round := range 3 {
		for _, args := range commands {
			cmd := exec.Command(gnife, args...)
			cmd.Env = append(os.Environ(), "SHEARCH_URL="+urls, "SHEARCH_TOKEN=")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stdout.Len() == 0 {
				t.Errorf("round %d: gnife %s: %v (stdout %d bytes)\n%s", round, strings.Join(args, " "), err, stdout.Len(), stderr.String())
			}
			moves += strings.Count(stderr.String(), procs[0].Addr)
		}
	}

	// The Go client starts at a random address too: make clients until
	// two have started at the dead one.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	calls, fromDead := 0, 0
	for try := 0; fromDead < 2 && try < 50; try++ {
		var logs syncBuffer
		c, err := api.NewClient(&api.Config{Addresses: []string{procs[0].URL, procs[1].URL}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		startsDead := strings.TrimSuffix(c.Address(), "/") == procs[0].URL
		res, err := c.Search(ctx, "node", "role:db", &api.SearchOptions{Rows: 5})
		if err != nil || len(res.Rows) == 0 {
			t.Errorf("Go client search with one replica dead: %v", err)
		}
		if _, err := c.Nodes().Get(ctx, name); err != nil {
			t.Errorf("Go client node get with one replica dead: %v", err)
		}
		calls += 2
		if startsDead {
			fromDead++
			if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "from="+procs[0].URL) {
				t.Errorf("a Go client that started at the dead replica logged %d lines, want one move from it:\n%s", n, logs.String())
			}
		}
	}
	if fromDead < 2 {
		t.Fatalf("50 Go clients, %d started at the first address: not random?", fromDead)
	}
	t.Logf("with one replica dead: %d gnife runs exit 0 (%d naming the dead replica on stderr); Go clients answered %d calls, %d of them starting at the dead replica with one logged move",
		3*len(commands), moves, calls, fromDead)
}

func firstNode(t *testing.T, base string) string {
	t.Helper()
	var body struct {
		Rows []struct {
			Name string `json:"name"`
		} `json:"rows"`
	}
	res, err := httpGet(base + "/v1/search/node?q=role:db&rows=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := jsonDecode(res.Body, &body); err != nil || len(body.Rows) == 0 {
		t.Fatalf("no db node: %v", err)
	}
	return body.Rows[0].Name
}
