package service

import (
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/internal/replica"
	"github.com/shearch/shearch/shards"
)

// shardsView is the body of GET /v1/shards: the topology, and this
// replica's part of the fleet-wide shard bounds. It stays an api.Topology
// (discovery.Status) so the server's redaction of shard URLs applies.
func shardsView(topo *discovery.Topology, guards *shards.Guards, m *replica.Member) discovery.Status {
	st := topo.Snapshot().Status()
	if m != nil {
		rs := m.Status()
		st.Replica = &rs
		return st
	}
	// Alone: the whole bounds are this process's.
	sh, cfg := guards.CurrentShare(), guards.Config()
	st.Replica = &replica.Status{Replicas: 1, Slots: sh.InFlight, MaxInFlight: cfg.MaxInFlight, Waiting: sh.Waiting,
		MaxWaiting: cfg.MaxWaiting}
	return st
}
