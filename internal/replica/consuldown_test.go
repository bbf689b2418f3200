package replica_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/devfleet/consulagent"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Two replicas share the bound. A replica the agent forgets registers
// again by itself. When Consul stops answering, each keeps its last share
// (it does not grab the whole bound), and says so in /v1/shards and in
// one log line.
func TestConsulDownKeepsTheLastShare(t *testing.T) {
	e := getEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	agent, err := consulagent.Start(ctx, consulagent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Stop()
	var logs []*syncBuffer
	var bases []string
	for range 2 {
		path, addr := e.replicaConfig(t, replicaOpts{service: "shearch-down", maxInFlight: 6, shutdownDelay: 0})
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Consul.Address = agent.Addr()
		buf := &syncBuffer{}
		svc, err := service.New(cfg, slog.New(slog.NewTextHandler(buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(context.Background())
		done, ready := make(chan error, 1), make(chan struct{})
		go func() { done <- svc.Serve(sctx, addr, func(string) { close(ready) }) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatal(err)
		}
		t.Cleanup(func() { stop(); <-done })
		logs = append(logs, buf)
		bases = append(bases, "http://"+addr)
	}
	for _, b := range bases {
		waitShare(t, b, func(v replicaView) bool { return v.Replicas == 2 && v.Slots == 3 }, "2 replicas, 3 slots each")
	}

	// The agent forgets a replica (as one restarted without its state
	// would): the other takes the whole bound, the forgotten one 1 slot,
	// and it registers again by itself.
	cc, err := consulapi.NewClient(&consulapi.Config{Address: agent.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	lost, err := getShards(bases[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.Agent().ServiceDeregister(lost.Replica.ID); err != nil {
		t.Fatal(err)
	}
	forgot := time.Now()
	waitShare(t, bases[1], func(v replicaView) bool { return v.Replicas == 1 && v.Slots == 6 }, "alone: 6 slots")
	waitShare(t, bases[0], func(v replicaView) bool { return v.Slots == 1 }, "not passing: 1 slot")
	waitShare(t, bases[0], func(v replicaView) bool { return v.Replicas == 2 && v.Slots == 3 }, "registered again: 3 slots")
	t.Logf("a replica the agent forgot is back, 3 slots each, %s later", time.Since(forgot).Round(100*time.Millisecond))

	agent.Stop()
	for i, b := range bases {
		v := waitShare(t, b, func(v replicaView) bool { return v.ConsulUnreachable }, "consul_unreachable")
		if v.Slots != 3 || v.Replicas != 2 {
			t.Errorf("replica %d with consul down: %+v, want the last share (3 slots of 2 replicas)", i+1, v)
		}
		if n := strings.Count(logs[i].String(), "consul unreachable; keeping the last replica share"); n != 1 {
			t.Errorf("replica %d: %d log lines say consul is unreachable, want 1:\n%s", i+1, n, logs[i].String())
		}
		res, err := http.Get(b + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var m bytes.Buffer
		m.ReadFrom(res.Body)
		res.Body.Close()
		if !strings.Contains(m.String(), "shearch_replicas 2\n") || !strings.Contains(m.String(), `shearch_shard_slots{shard="chef-1"} 3`) {
			t.Errorf("replica %d metrics: want shearch_replicas 2 and shearch_shard_slots 3:\n%s", i+1, grep(m.String(), "shearch_replicas", "shearch_shard_slots"))
		}
	}
}

func waitShare(t *testing.T, base string, ok func(replicaView) bool, want string) replicaView {
	t.Helper()
	var v shardsView
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if v, err = getShards(base); err == nil && ok(v.Replica) {
			return v.Replica
		}
	}
	t.Fatalf("%s: want %s within 20s, have %+v (%v)", base, want, v.Replica, err)
	return replicaView{}
}

func grep(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
