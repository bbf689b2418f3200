package service_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/route53stub"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/internal/service"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

type shardsBody struct {
	Version uint64 `json:"version"`
	Stale   bool   `json:"stale"`
	Shards  []struct {
		Name   string `json:"name"`
		Weight *int64 `json:"weight"`
		Source string `json:"source"`
	} `json:"shards"`
}

func weights(b shardsBody) map[string]int64 {
	out := map[string]int64{}
	for _, s := range b.Shards {
		if s.Weight != nil {
			out[s.Name] = *s.Weight
		}
	}
	return out
}

// The whole production path: shards discovered from the Route53 weighted
// set (through the real SDK and the stand-in), every shard searched
// whatever its weight, topology changes picked up without a restart, and
// a Route53 outage survived on the last-known-good topology.
func TestDiscoveredFleet(t *testing.T) {
	integration.Needs(t, "goiardi, consul and the Route53 stub")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := devfleet.StartDev(ctx, devfleet.DevOptions{Shards: 3, Nodes: 90})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Config.Route53.Refresh = config.Duration{Duration: 500 * time.Millisecond}
	svc, err := service.New(d.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Serve(sctx, "127.0.0.1:0", func(a string) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	defer func() { stop(); <-done }()

	var sh shardsBody
	getJSON(t, base+"/v1/shards", &sh)
	w := weights(sh)
	if len(sh.Shards) != 3 || w["chef-3"] != 0 || w["chef-1"] != 33 || sh.Shards[0].Source != "route53" {
		t.Fatalf("shards from Route53: %+v", sh)
	}
	var res struct {
		Total int `json:"total"`
		Rows  []struct {
			Shard string `json:"shard"`
		} `json:"rows"`
	}
	getJSON(t, base+"/v1/search/node?q=*:*", &res)
	perShard := map[string]int{}
	for _, r := range res.Rows {
		perShard[r.Shard]++
	}
	if res.Total != 90 || perShard["chef-3"] != len(d.Cluster.Parts[2].Nodes) || perShard["chef-3"] == 0 {
		t.Fatalf("want all 90 nodes, the weight-0 shard's %d included; got %d, per shard %v", len(d.Cluster.Parts[2].Nodes), res.Total, perShard)
	}

	// A weight change in Route53 shows within one refresh, no restart.
	if err := d.Route53.Upsert(devfleet.DevZone, route53stub.Record{Name: devfleet.DevRecord, Type: "CNAME", SetIdentifier: "chef-1", Weight: 70, Target: "127.0.0.2.", TTL: 60}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var now shardsBody
		getJSON(t, base+"/v1/shards", &now)
		if weights(now)["chef-1"] == 70 && now.Version > sh.Version {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("weight change not seen after 5s: %+v", now)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Route53 gone: searches go on with the last-known-good topology and
	// /v1/shards says it is stale.
	d.Route53.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		var now shardsBody
		getJSON(t, base+"/v1/shards", &now)
		if now.Stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Route53 down but /v1/shards is not stale: %+v", now)
		}
		time.Sleep(100 * time.Millisecond)
	}
	getJSON(t, base+"/v1/search/node?q=*:*", &res)
	if res.Total != 90 {
		t.Fatalf("with Route53 down: %d nodes, want 90", res.Total)
	}
}

// Config mistakes stop Shearch with one line naming the problem.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"listen: x\nbogus: 1\n", `unknown key "bogus"`},
		{"shards:\n  static:\n    - name: a\n      url: ftp://x\n      stack: prod\n", "bad url"},
		{"shards:\n  static:\n    - name: a\n      url: http://127.0.0.1:1\n      stack: prod\n      client_key: /nonexistent.pem\n", "/nonexistent.pem"},
		{"shards:\n  timeout: ten\n", "not a duration"},
		{"tls:\n  cert_file: /x.pem\n", "set both cert_file and key_file"},
		{"tls:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n", "tls: cannot load cert_file /nonexistent/cert.pem"},
		{"consul:\n  shard_scheme: ftp\n", `consul.shard_scheme "ftp"`},
		{"consul:\n  shard_tag: \"\"\n", "consul.shard_tag is empty"},
		{"server:\n  max_body_bytes: lots\n", "not a size"},
		{"search:\n  max_query_bytes: 0\n", "search.max_query_bytes must be a positive size"},
		{"server:\n  write_timeout: 0s\n", "server.write_timeout must be a positive duration"},
	} {
		cfg, err := config.Parse([]byte(tc.yaml))
		if err == nil {
			_, err = service.New(cfg, nil)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line containing %q, got %v", tc.yaml, tc.want, err)
		}
	}
}
