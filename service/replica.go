package service

import (
	"github.com/shearch/shearch/replica"
	"github.com/shearch/shearch/shards"
)

// ShardsView is the body of GET /v1/shards: the topology, and this
// replica's part of the fleet-wide shard bounds.
type ShardsView struct {
	shards.TopologyStatus
	Replica replica.Status `json:"replica"`
}

func shardsView(topo *shards.Topology, guards *shards.Guards, m *replica.Member) ShardsView {
	v := ShardsView{TopologyStatus: topo.Snapshot().Status()}
	if m != nil {
		v.Replica = m.Status()
		return v
	}
	// Alone: the whole bounds are this process's.
	sh, cfg := guards.CurrentShare(), guards.Config()
	v.Replica = replica.Status{Replicas: 1, Slots: sh.InFlight, MaxInFlight: cfg.MaxInFlight, Waiting: sh.Waiting,
		MaxWaiting: cfg.MaxWaiting}
	return v
}
