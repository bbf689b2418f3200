package apitest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// lines is a slog handler's output, safe for concurrent writes.
type lines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "\n")
}

// refusedURL is an address where nothing listens.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// hangupURL accepts connections and closes them without an answer: a
// request sent there may have been read.
func hangupURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}

// startingAt is a client over addrs whose first call goes to first (the
// start is random: clients are made until one starts there).
func startingAt(t *testing.T, first string, addrs []string, token string, log *lines) *api.Client {
	t.Helper()
	for range 200 {
		c, err := api.NewClient(&api.Config{Addresses: addrs, Token: token, Logger: slog.New(slog.NewTextHandler(log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if c.Address() == first {
			return c
		}
	}
	t.Fatalf("no client started at %s", first)
	return nil
}

// Reads move on from a replica that refuses connections, hangs up or is
// draining; each move is one log line, and the next call starts where the
// last one was answered.
func TestReadsFailOver(t *testing.T) {
	l := live.get(t)
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":["draining: shutting down, send new requests elsewhere"]}`))
	}))
	defer draining.Close()
	for name, bad := range map[string]string{"refused": refusedURL(t), "hangup": hangupURL(t), "draining": draining.URL} {
		log := &lines{}
		c := startingAt(t, bad, []string{bad, l.srv.URL}, readToken, log)
		for i := 0; i < 3; i++ {
			if _, err := c.Search(context.Background(), "node", "role:web", nil); err != nil {
				t.Fatalf("%s: read %d: %v", name, i, err)
			}
		}
		if n := log.count(); n != 1 {
			t.Errorf("%s: %d log lines for one move, want 1:\n%s", name, n, log.b.String())
		}
		if c.Address() != l.srv.URL {
			t.Errorf("%s: the next call starts at %s, want the replica that answered", name, c.Address())
		}
	}
}

// A write moves on only when the connection was refused; after a hang-up
// it may have reached a replica, so it fails instead of being resent.
func TestWritesFailOverOnlyWhenRefused(t *testing.T) {
	l := live.get(t)
	ctx := context.Background()
	log := &lines{}
	refused := refusedURL(t)
	c := startingAt(t, refused, []string{refused, l.srv.URL}, writeToken, log)
	role := chef.Role{Name: "failover-role", RunList: chef.RunList{}}
	if err := c.Roles().Create(ctx, role); err != nil {
		t.Fatalf("a write to a refused replica did not move on: %v", err)
	}
	if n := log.count(); n != 1 {
		t.Errorf("%d log lines for one move, want 1", n)
	}
	defer c.Roles().Delete(ctx, role.Name)

	log = &lines{}
	hangup := hangupURL(t)
	c = startingAt(t, hangup, []string{hangup, l.srv.URL}, writeToken, log)
	role.Description = "resent"
	err := c.Roles().Put(ctx, role)
	var ce *api.ConnectError
	if !errors.As(err, &ce) || ce.Address != hangup {
		t.Fatalf("a write the replica hung up on: want a *ConnectError for %s, got %v", hangup, err)
	}
	if n := log.count(); n != 0 {
		t.Errorf("the write moved on after a hang-up: %s", log.b.String())
	}
	got, err := l.client(t, readToken).Roles().Get(ctx, role.Name)
	if err != nil || got.Description == "resent" {
		t.Errorf("the write was resent elsewhere: %+v %v", got, err)
	}
}

// A write some shards did not take is a *PartialError with every shard's
// outcome; the client signs with a Chef key as go-chef does.
func TestPartialWriteAndChefKey(t *testing.T) {
	l := live.get(t)
	list := l.cluster.ShardList()
	list[2].URL = refusedURL(t)
	s := server.New(engineOver(list, shards.GuardConfig{}), quiet())
	s.Auth = l.auth
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := api.NewClient(&api.Config{Addresses: []string{srv.URL}, ChefUser: "alice", ChefKeyFile: l.aliceKey, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Roles().Create(ctx, chef.Role{Name: "partial-role", RunList: chef.RunList{}})
	var pe *api.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("a write 2 of 3 shards took: want a *PartialError, got %T %v", err, err)
	}
	done := 0
	for _, o := range pe.Outcomes {
		if o.Done() {
			done++
		} else if o.Name != "chef-3" {
			t.Errorf("outcome %+v: only chef-3 failed", o)
		}
	}
	if done != 2 || len(pe.Outcomes) != 3 || len(pe.Failed()) != 1 {
		t.Errorf("outcomes %+v, want chef-1 and chef-2 done, chef-3 failed", pe.Outcomes)
	}
	// alice's signed read and delete go through (the key is the caller).
	if _, err := c.Roles().Get(ctx, "partial-role"); err != nil && !errors.As(err, &pe) {
		t.Fatal(err)
	}
	l.client(t, writeToken).Roles().Delete(ctx, "partial-role")

	// A Chef-signed caller names its stack in the signed path: Shearch
	// refuses a signed request's unsigned ?stack=.
	sc, err := api.NewClient(&api.Config{Addresses: []string{l.srv.URL}, ChefUser: "alice", ChefKeyFile: l.aliceKey, Stack: "prod", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sc.Search(ctx, "node", "role:web", &api.SearchOptions{Stack: "prod"}); err != nil || res.Total != 3 {
		t.Fatalf("a signed search of stack prod: %v %v", res, err)
	}
	if err := sc.Roles().Put(ctx, chef.Role{Name: "signed-role", RunList: chef.RunList{}}); err != nil && !api.NotFound(err) {
		t.Fatalf("a signed write to stack prod: %v", err)
	}
	if err := sc.Roles().Create(ctx, chef.Role{Name: "signed-role", RunList: chef.RunList{}}); err != nil {
		t.Fatalf("a signed create in stack prod: %v", err)
	}
	if _, err := sc.Roles().Delete(ctx, "signed-role"); err != nil {
		t.Fatalf("a signed delete in stack prod: %v", err)
	}
}

// A stream with a failed shard yields the other shards' rows, then a
// *PartialError naming it; AllowPartial takes the rows alone.
func TestRowsPartial(t *testing.T) {
	l := live.get(t)
	list := l.cluster.ShardList()
	list[1].URL = refusedURL(t)
	srv := httptest.NewServer(server.New(engineOver(list, shards.GuardConfig{}), quiet()))
	defer srv.Close()
	c, _ := api.NewClient(&api.Config{Addresses: []string{srv.URL}, Logger: quiet()})
	for _, allow := range []bool{false, true} {
		rows, last := 0, error(nil)
		for _, err := range c.Rows(context.Background(), "node", "*:*", &api.SearchOptions{AllowPartial: allow}) {
			if err != nil {
				last = err
				continue
			}
			rows++
		}
		var pe *api.PartialError
		switch {
		case rows == 0 || rows >= 12:
			t.Errorf("allow=%v: %d rows, want those of the two shards that answered", allow, rows)
		case allow && last != nil:
			t.Errorf("allow=%v: %v", allow, last)
		case !allow && (!errors.As(last, &pe) || len(pe.Failed()) != 1 || pe.Failed()[0] != "chef-2"):
			t.Errorf("allow=%v: last error %v, want a *PartialError naming chef-2", allow, last)
		}
	}
}
