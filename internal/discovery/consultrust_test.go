package discovery_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// rooted serves a fake shard at the server's root, as a Chef server found
// in Consul is reached (no /organizations/ORG in its URL).
func rooted(s *fakeshard.Shard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/organizations/fake" + r.URL.Path
		s.ServeHTTP(w, r2)
	})
}

func nodeWithOhai(name, ohai string) devfleet.Object {
	return devfleet.Object{"name": name, "chef_environment": "prod", "json_class": "Chef::Node", "chef_type": "node",
		"run_list": []any{}, "normal": map[string]any{}, "default": map[string]any{}, "override": map[string]any{},
		"automatic": map[string]any{"ohai_time": json.Number(ohai)}}
}

func port(t *testing.T, srv *httptest.Server) int {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// writeCA writes the certificate that signs srv's TLS as a PEM CA file.
func writeCA(t *testing.T, dir, name string, der []byte) string {
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// otherCA makes a CA that signed nothing the test serves.
func otherCA(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not the shards' CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

type snapshotLister struct{ t *discovery.Topology }

func (l snapshotLister) Shards(stack string) []shards.Shard { return l.t.Snapshot().Shards(stack) }

// Whoever can register a service in Consul picks its tags. Rogue
// services carrying every tag a shard needs, but named or placed where
// no shard is (consul.shard_names, consul.shard_networks), are refused
// and named as problems: they receive no request, signed or not, and
// their node with a future ohai_time never wins a merge. The shard that
// is trusted is reached over TLS that must chain to consul.shard_ca_file.
func TestConsulRogueShardsRefused(t *testing.T) {
	t.Parallel()
	a, c := consul(t)
	dir := t.TempDir()
	key, err := fakeshard.WriteKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(nodes ...devfleet.Object) (*fakeshard.Shard, *httptest.Server) {
		s, err := fakeshard.FromFixture(&devfleet.Fixture{Nodes: nodes}, fakeshard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(rooted(s))
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return s, srv
	}
	legit, legitSrv := serve(nodeWithOhai("web-1", "1000"))
	rogue, rogueSrv := serve(nodeWithOhai("web-1", "99999999999"), nodeWithOhai("planted", "1"))
	rp := port(t, rogueSrv)
	register(t, c, "chef-1", "127.0.0.1", port(t, legitSrv), consulapi.HealthPassing, "stack:prod", "shard:chef-1")
	register(t, c, "evil-1", "127.0.0.1", rp, consulapi.HealthPassing, "stack:prod", "shard:evil-1")
	register(t, c, "chef-9", "localhost", rp, consulapi.HealthPassing, "stack:prod", "shard:chef-9")
	register(t, c, "chef-8", "10.66.0.1", rp, consulapi.HealthPassing, "stack:prod", "shard:chef-8")
	// Registered under the trusted shard's name, failing its checks: it
	// must not speak for chef-1's health either.
	register(t, c, "chef-1-twin", "10.66.0.2", rp, consulapi.HealthCritical, "stack:prod", "shard:chef-1")

	shardsCA := writeCA(t, dir, "shards-ca.pem", legitSrv.Certificate().Raw)
	trust := discovery.ConsulTrust{Names: []string{"chef-*"}, Networks: []string{"127.0.0.1/32", ".chef.internal"}, CAFile: shardsCA}
	cfg := discovery.ConsulConfig{Address: a.Addr(), Timeout: 5 * time.Second, Trust: trust}
	src, err := discovery.NewConsul(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var res discovery.ConsulResult
	eventually(t, "five chef-server instances in the catalog", func() (bool, string) {
		res, err = src.Discover(t.Context(), 0, 0)
		return err == nil && len(res.Shards)+len(res.Problems) == 5, describe(res.Shards)
	})
	wantShards(t, res.Shards, "chef-1 prod https://127.0.0.1:"+strconv.Itoa(port(t, legitSrv))+" w=- consul passing")
	node := a.NodeName()
	wantProblems(t, res.Problems,
		"consul "+node+"/chef-1-twin (chef-1): address 10.66.0.2 is in no consul.shard_networks entry; skipped",
		"consul "+node+"/chef-8 (chef-8): address 10.66.0.1 is in no consul.shard_networks entry; skipped",
		"consul "+node+"/chef-9 (chef-9): address localhost is in no consul.shard_networks entry; skipped",
		"consul "+node+"/evil-1 (evil-1): shard name \"evil-1\" matches no consul.shard_names pattern; skipped")
	if res.Health["chef-1"] != shards.HealthPassing || res.Shards[0].CAFile != shardsCA {
		t.Fatalf("chef-1: health %s, CA %q", res.Health["chef-1"], res.Shards[0].CAFile)
	}

	// Both lists empty: Consul adds no shard at all.
	open, err := discovery.NewConsul(discovery.ConsulConfig{Address: a.Addr(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := open.Discover(t.Context(), 0, 0); err != nil || len(r.Shards) != 0 || len(r.Problems) != 5 ||
		!strings.Contains(r.Problems[0].Problem, "consul.shard_names and consul.shard_networks must both be set") {
		t.Fatalf("no trust lists: %s %v %v", describe(r.Shards), r.Problems, err)
	}

	// A search over the topology asks the trusted shard alone, over TLS
	// that chains to the pinned CA.
	search1 := func(trust discovery.ConsulTrust) (*search.Result, error) {
		topo, err := discovery.NewTopology(discovery.Config{Defaults: discovery.ShardDefaults{ClientName: "admin", ClientKey: key, Timeout: 5 * time.Second},
			Consul: &discovery.ConsulConfig{Address: a.Addr(), Timeout: 5 * time.Second, Trust: trust}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := topo.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer topo.Close()
		e := search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second}, search.Deps{Topology: snapshotLister{topo}})
		return e.Search(t.Context(), search.Request{Index: "node", Query: "*:*"})
	}
	legit.ResetStats()
	rogue.ResetStats()
	got, err := search1(trust)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 1 || got.Rows[0].Name != "web-1" || got.Rows[0].Shard != "chef-1" || got.Shards.Total != 1 {
		t.Fatalf("rows %+v, shards %+v", got.Rows, got.Shards)
	}
	if legit.Stats().Requests == 0 || rogue.Stats().Requests != 0 {
		t.Fatalf("requests: trusted shard %d, rogue %d", legit.Stats().Requests, rogue.Stats().Requests)
	}

	// Pinned to a CA that did not sign the shard's certificate: the TLS
	// handshake fails, and the shard with it.
	trust.CAFile = writeCA(t, dir, "other-ca.pem", otherCA(t))
	_, err = search1(trust)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a shard whose TLS does not chain to consul.shard_ca_file answered: %v", err)
	}
}
