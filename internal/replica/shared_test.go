package replica_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/route53stub"
)

// Acceptance 4: a replica writes the Route53 shards it discovers to Consul
// KV (shearch/topology/prod); with the Route53 stand-in stopped, a replica
// started afresh, with no cache file, serves those shards from Consul KV
// and says so in /v1/shards.
func TestSharedTopologyFromConsulKV(t *testing.T) {
	e := getEnv(t)
	r53 := route53stub.New(route53stub.Options{})
	r53.AddZone(devfleet.DevZone)
	for i, g := range e.dev.Cluster.Shards {
		host := "127.0.0." + strconv.Itoa(i+2)
		if err := r53.Upsert(devfleet.DevZone, route53stub.Record{Name: devfleet.DevRecord, Type: "CNAME", SetIdentifier: g.Name,
			Weight: 10, Target: host + ".", TTL: 60}); err != nil {
			t.Fatal(err)
		}
	}
	endpoint, err := r53.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r53.Close()
	// Shards from Route53 only: the dev fleet's shards are registered in
	// Consul too, and must not stand in for the shared topology here.
	o := replicaOpts{service: "shearch-kv", maxInFlight: 16, shutdownDelay: time.Second, noStatic: true, shardService: "none",
		extra: fmt.Sprintf(`route53:
  endpoint: %s
  region: us-east-1
  zone_id: %s
  url_template: "http://{target}:%d"
  refresh: 1s
  records:
    - {name: %q, stack: prod}
`, endpoint, devfleet.DevZone, e.dev.Cluster.Shards[0].Port, devfleet.DevRecord)}
	path, addr := e.replicaConfig(t, o)
	first, err := devfleet.StartShearch(e.bin, path, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()
	nodes := nodeCount(t, first.URL)

	cc, err := consulapi.NewClient(&consulapi.Config{Address: e.dev.Consul.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	var kv *consulapi.KVPair
	for deadline := time.Now().Add(15 * time.Second); kv == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no shared topology in consul KV shearch/topology/prod within 15s\n%s", first.Log())
		}
		kv, _, _ = cc.KV().Get("shearch/topology/prod", nil)
	}
	t.Logf("consul KV shearch/topology/prod: %s", kv.Value)

	r53.Close()
	path, addr = e.replicaConfig(t, o)
	second, err := devfleet.StartShearch(e.bin, path, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	v, err := getShards(second.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Shards) != 3 || len(v.Sources) == 0 || v.Sources[0].Source != "route53" || !v.Sources[0].FromCache || v.Sources[0].Cache != "consul_kv" {
		t.Fatalf("a replica started with Route53 down: want 3 shards from route53 served from consul_kv, got %+v\n%s", v, second.Log())
	}
	if got := nodeCount(t, second.URL); got != nodes {
		t.Errorf("the replica serving from consul KV finds %d nodes, the first replica %d", got, nodes)
	}
	if !strings.Contains(second.Log(), "shared shards from consul KV") {
		t.Errorf("no log line says the shards come from consul KV:\n%s", second.Log())
	}
	t.Logf("with Route53 down, a fresh replica serves %d shards from consul KV (source %+v), %d nodes", len(v.Shards), v.Sources[0], nodes)
}
