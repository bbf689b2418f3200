package replica_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/integration"
)

// The integration tests here share one fleet: 3 goiardi shards holding
// 2,500 synthetic nodes, a real consul agent and a built shearch binary.
// Each test starts its own replicas (real processes), under a Consul
// service name of its own, and a real HAProxy in front of them.
const fleetNodes = 2500

type testEnv struct {
	dev *devfleet.Dev
	bin string
	dir string
}

var (
	envOnce sync.Once
	shared  *testEnv
	envErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.dev.Stop()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func getEnv(t *testing.T) *testEnv {
	t.Helper()
	integration.Needs(t, "goiardi, consul and haproxy")
	envOnce.Do(func() {
		for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"} {
			os.Setenv(k, v)
		}
		e := &testEnv{}
		if e.dir, envErr = os.MkdirTemp("", "shearch-replicas-"); envErr != nil {
			return
		}
		built := make(chan error, 1)
		go func() {
			var err error
			e.bin, err = devfleet.BuildShearch(e.dir)
			built <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		e.dev, envErr = devfleet.StartDev(ctx, devfleet.DevOptions{Shards: 3, Nodes: fleetNodes})
		if err := <-built; envErr == nil {
			envErr = err
		}
		shared = e
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return shared
}

// replicaOpts shape one replica's config.
type replicaOpts struct {
	service     string
	maxInFlight int
	// shardURLs replace the goiardi URLs (counting proxies); nil: direct.
	shardURLs     []string
	shutdownDelay time.Duration
	// noStatic leaves shards.static empty (shards come from extra's route53).
	noStatic bool
	// shardService is consul.shard_service (default chef-server, where the
	// dev fleet registers its shards).
	shardService string
	extra        string
}

// replicaConfig writes a config for a replica listening (and advertised)
// on a free loopback port, and returns its path and address.
func (e *testEnv) replicaConfig(t *testing.T, o replicaOpts) (path, addr string) {
	t.Helper()
	port, err := devfleet.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var static strings.Builder
	for i, g := range e.dev.Cluster.Shards {
		if o.noStatic {
			break
		}
		u := g.URL
		if o.shardURLs != nil {
			u = o.shardURLs[i]
		}
		fmt.Fprintf(&static, "    - {name: %s, url: %q, stack: prod}\n", g.Name, u)
	}
	cfg := fmt.Sprintf(`listen: %[1]s
shutdown_delay: %[2]s
shutdown_timeout: 20s
cache_file: %[3]s
replica:
  advertise: %[1]s
  service: %[4]s
  check_interval: 500ms
consul:
  address: %[5]s
  shard_scheme: http
  shard_service: %[10]s
shards:
  client_name: shearch
  client_key: %[6]s
  max_in_flight: %[7]d
  static:
%[8]s
search:
  object_fetch: get
%[9]s`, addr, o.shutdownDelay, filepath.Join(t.TempDir(), "topology.json"), o.service, e.dev.Consul.Addr(),
		e.dev.Config.Shards.ClientKey, o.maxInFlight, static.String(), o.extra, cmp.Or(o.shardService, "chef-server"))
	path = filepath.Join(t.TempDir(), "shearch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, addr
}

// startReplicas starts n replicas and HAProxy over them, and waits until
// each sees all n passing and HAProxy has them up.
func (e *testEnv) startReplicas(t *testing.T, n int, o replicaOpts) ([]*devfleet.ShearchProc, *devfleet.HAProxy) {
	t.Helper()
	var procs []*devfleet.ShearchProc
	var addrs []string
	for range n {
		path, addr := e.replicaConfig(t, o)
		p, err := devfleet.StartShearch(e.bin, path, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		procs = append(procs, p)
		addrs = append(addrs, addr)
	}
	h, err := devfleet.StartHAProxy(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	for _, p := range procs {
		waitReplicas(t, p, n, 30*time.Second)
	}
	waitHAProxyUp(t, h, procs)
	return procs, h
}

// replicaView is the replica part of /v1/shards.
type replicaView struct {
	Replicas          int    `json:"replicas"`
	Slots             int    `json:"slots"`
	MaxInFlight       int    `json:"max_in_flight"`
	Waiting           int    `json:"waiting"`
	ConsulUnreachable bool   `json:"consul_unreachable"`
	ID                string `json:"id"`
}

type shardsView struct {
	Shards []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"shards"`
	Sources []struct {
		Source    string `json:"source"`
		State     string `json:"state"`
		FromCache bool   `json:"from_cache"`
		Cache     string `json:"cache"`
	} `json:"sources"`
	Replica replicaView `json:"replica"`
}

func getShards(base string) (shardsView, error) {
	var v shardsView
	res, err := http.Get(base + "/v1/shards")
	if err != nil {
		return v, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return v, fmt.Errorf("GET /v1/shards: HTTP %d", res.StatusCode)
	}
	return v, json.NewDecoder(res.Body).Decode(&v)
}

func waitReplicas(t *testing.T, p *devfleet.ShearchProc, n int, within time.Duration) replicaView {
	t.Helper()
	var last shardsView
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last, err = getShards(p.URL); err == nil && last.Replica.Replicas == n {
			return last.Replica
		}
	}
	t.Fatalf("replica %s does not see %d replicas within %s: %+v (%v)\n%s", p.Addr, n, within, last.Replica, err, p.Log())
	return replicaView{}
}

// waitHAProxyUp waits until every replica has answered a request sent
// through HAProxy: with round robin, that means HAProxy has them all up.
func waitHAProxyUp(t *testing.T, h *devfleet.HAProxy, procs []*devfleet.ShearchProc) {
	t.Helper()
	seen := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); len(seen) < len(procs); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy did not send to every replica within 30s (answered: %v)\n%s", seen, h.Log())
		}
		res, err := http.Get(h.URL + "/v1/shards")
		if err != nil {
			continue
		}
		var v shardsView
		json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if v.Replica.ID != "" {
			seen[v.Replica.ID] = true
		}
	}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func httpGet(u string) (*http.Response, error) { return http.Get(u) }
