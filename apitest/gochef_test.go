package apitest

import (
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// go-chef, unchanged, against a Shearch with a failed shard: a plain
// search leaves a silent gap, and `&partial=deny` in the statement (the
// README's advice) turns the gap into an error, the signature still valid.
func TestGoChefPartialDeny(t *testing.T) {
	l := live.get(t)
	list := l.cluster.ShardList()
	list[1].URL = refusedURL(t)
	s := server.New(engineOver(list, shards.GuardConfig{}), quiet())
	s.Auth = l.auth
	srv := httptest.NewServer(s)
	defer srv.Close()
	key, err := os.ReadFile(l.aliceKey)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.JoinPath(srv.URL, "/")
	c, err := chef.NewClient(&chef.Config{Name: "alice", Key: string(key), BaseURL: base, AuthenticationVersion: "1.3"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Search.Exec("node", "*:*")
	if err != nil {
		t.Fatalf("go-chef without partial=deny: %v", err)
	}
	if res.Total >= 12 {
		t.Fatalf("a failed shard left no gap: %d of 12 nodes", res.Total)
	}
	_, err = c.Search.Exec("node", "*:*&partial=deny")
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("go-chef with partial=deny: want a 502 error, got %v", err)
	}
}
