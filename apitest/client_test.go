package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/api"
)

// The review's small findings, each against the client as a backend uses
// it: an empty query is Chef's *:* (not q="", a 400); Do sends an escaped
// path as given (not escaped twice); a row that is not the asked shape is
// an error, not a nil.
func TestClientReviewFindings(t *testing.T) {
	l := live.get(t)
	c := l.client(t, readToken)
	ctx := context.Background()
	res, err := c.Search(ctx, "node", "", nil)
	if err != nil || res.Total != 12 {
		t.Errorf("an empty query: %v %v, want the 12 nodes of *:*", res, err)
	}

	var got string
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		w.Write([]byte("{}"))
	}))
	defer echo.Close()
	ec, _ := api.NewClient(&api.Config{Addresses: []string{echo.URL}, Logger: quiet()})
	if _, _, err := ec.Do(ctx, http.MethodGet, "/data/my%20bag/a%2Fb", nil, nil); err != nil || got != "/data/my%20bag/a%2Fb" {
		t.Errorf("Do sent %q (%v), want the path as given", got, err)
	}
	if _, err := ec.DataBags().Get(ctx, "my bag", "a/b"); err != nil || got != "/data/my%20bag/a%2Fb" {
		t.Errorf("DataBags().Get sent %q (%v), want each name escaped once", got, err)
	}

	row := api.Row{Name: "x", Shard: "chef-1", Data: json.RawMessage(`["not","an","object"]`)}
	var m map[string]any
	if err := row.Decode(&m); err == nil {
		t.Error("Decode of an array into a map: no error")
	}
	if _, err := row.Node(); err == nil {
		t.Error("Node of an array: no error")
	}
}

// A shed read is tried 1+MaxRetries times, then its 429 is the answer; a
// shed write is sent once.
func TestRetryBounds(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	shed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method]++
		mu.Unlock()
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":["shed: try again"]}`))
	}))
	defer shed.Close()
	c, _ := api.NewClient(&api.Config{Addresses: []string{shed.URL}, MaxRetries: 2, Logger: quiet()})
	ctx := context.Background()
	_, err := c.Shards(ctx)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusTooManyRequests || calls["GET"] != 3 {
		t.Errorf("a shed read: %v after %d tries, want a 429 after 3", err, calls["GET"])
	}
	err = c.Roles().Put(ctx, chef.Role{Name: "x", RunList: chef.RunList{}})
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusTooManyRequests || calls["PUT"] != 1 {
		t.Errorf("a shed write: %v after %d tries, want a 429 after 1", err, calls["PUT"])
	}
}
