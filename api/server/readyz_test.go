package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shearch/shearch/api/server"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// /readyz is 503 while no shard of the default stack is reachable, and
// while draining.
func TestReadyz(t *testing.T) {
	f := startFleet(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	good := f.cluster.Shards[0].Shard("prod")
	bad := f.cluster.Shards[1].Shard("dev")
	bad.URL = dead
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &search.Engine{Topology: search.StaticShards{good, bad}, DefaultStack: "prod", Log: quiet,
		Guards: shards.NewGuards(shards.GuardConfig{BreakerFailures: 1}, quiet)}
	srv := server.New(e, quiet)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	status := func() int {
		res, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("fresh: /readyz %d", s)
	}
	// The dev stack's only shard refuses: dev is not ready, prod still is.
	e.Search(context.Background(), search.Request{Index: "node", Stack: "dev"})
	if e.Reachable("dev") || !e.Reachable("prod") {
		t.Errorf("reachable: dev %v (want false), prod %v (want true)", e.Reachable("dev"), e.Reachable("prod"))
	}
	e.DefaultStack = "dev"
	if s := status(); s != 503 {
		t.Errorf("no reachable shard in the default stack: /readyz %d, want 503", s)
	}
	e.DefaultStack = "prod"
	srv.Drain()
	if s := status(); s != 503 {
		t.Errorf("draining: /readyz %d, want 503", s)
	}
}
