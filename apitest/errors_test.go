package apitest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// Acceptance: errors.As finds an *api.Error for every status a backend
// must tell apart, from a live Shearch: 400, 401, 403, 404, 409, 429 and
// 502 (naming the failed shard in Shards), and 503 from a replica.
func TestErrorsAs(t *testing.T) {
	l := live.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	writer, reader, anon := l.client(t, writeToken), l.client(t, readToken), l.client(t, "nope")

	// A 502: one shard of a fresh Shearch refuses every connection, and
	// partial=deny makes that an error.
	list := l.cluster.ShardList()
	list[1].URL = "http://127.0.0.1:1"
	deny := httptest.NewServer(server.New(engineOver(list, shards.GuardConfig{}), quiet()))
	defer deny.Close()
	denyClient, _ := api.NewClient(&api.Config{Addresses: []string{deny.URL}, Deny: true, Logger: quiet()})

	// A 429: every shard takes one request and queues none, and the
	// client does not retry.
	shed := httptest.NewServer(server.New(engineOver(l.cluster.ShardList(), shards.GuardConfig{MaxInFlight: 1, MaxWaiting: -1}), quiet()))
	defer shed.Close()
	shedClient, _ := api.NewClient(&api.Config{Addresses: []string{shed.URL}, MaxRetries: -1, Logger: quiet()})

	// A 503: the only replica is draining.
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "r-503")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":["draining: shutting down, send new requests elsewhere"]}`))
	}))
	defer draining.Close()
	drainClient, _ := api.NewClient(&api.Config{Addresses: []string{draining.URL}, Logger: quiet()})

	cases := []struct {
		status int
		call   func() error
	}{
		{400, func() error { _, err := reader.Search(ctx, "node", "role:(", nil); return err }},
		{401, func() error { _, err := anon.Search(ctx, "node", "*:*", nil); return err }},
		{403, func() error { return reader.Roles().Create(ctx, chef.Role{Name: "refused"}) }},
		{404, func() error { _, err := reader.Nodes().Get(ctx, "no-such-node"); return err }},
		{409, func() error { return writer.Roles().Create(ctx, chef.Role{Name: "web", RunList: chef.RunList{}}) }},
		{429, func() error {
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				go func() {
					_, err := shedClient.Search(ctx, "node", "role:web OR name:x"+strings.Repeat("y", i), nil)
					errs <- err
				}()
			}
			var shedErr error
			for i := 0; i < 20; i++ {
				if err := <-errs; err != nil {
					shedErr = err
				}
			}
			return shedErr
		}},
		{502, func() error { _, err := denyClient.Search(ctx, "node", "*:*", nil); return err }},
		{503, func() error { _, err := drainClient.Shards(ctx); return err }},
	}
	for _, tc := range cases {
		err := tc.call()
		var ae *api.Error
		if !errors.As(err, &ae) || ae.StatusCode != tc.status {
			t.Errorf("want an *api.Error with %d, got %T %v", tc.status, err, err)
			continue
		}
		if len(ae.Messages) == 0 || ae.RequestID == "" {
			t.Errorf("%d: no message or request id: %+v", tc.status, ae)
		}
		switch tc.status {
		case 429:
			if ae.RetryAfter <= 0 {
				t.Errorf("429 without RetryAfter: %+v", ae)
			}
		case 502:
			if len(ae.Shards) != 1 || ae.Shards[0].Name != "chef-2" || ae.Shards[0].Error == "" {
				t.Errorf("502: Shards %+v, want chef-2 and why", ae.Shards)
			}
		case 404:
			if !api.NotFound(err) || !api.NotFound(errors.Join(errors.New("wrapped"), err)) {
				t.Errorf("NotFound misses a (wrapped) 404: %v", err)
			}
		}
	}
}

// A context's deadline comes back as itself, wrapped: errors.Is finds it.
func TestDeadlineIsWrapped(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	c, _ := api.NewClient(&api.Config{Addresses: []string{hang.URL}, Logger: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Shards(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded wrapped, got %T %v", err, err)
	}
}

// An answer held whole is bounded: one over Config.MaxResponseBytes is an
// error naming the setting, not a huge allocation.
func TestMaxResponseBytes(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"shards":[` + strings.Repeat(`{"name":"x"},`, 100000) + `{}]}`))
	}))
	defer big.Close()
	c, _ := api.NewClient(&api.Config{Addresses: []string{big.URL}, MaxResponseBytes: 64 << 10, Logger: quiet()})
	_, err := c.Shards(context.Background())
	if err == nil || !strings.Contains(err.Error(), "MaxResponseBytes") {
		t.Fatalf("want an error naming MaxResponseBytes, got %v", err)
	}
}
