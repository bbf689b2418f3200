package shards

import "github.com/prometheus/client_golang/prometheus"

// Share is one replica's part of the fleet-wide bounds: shards.max_in_flight
// and search.max_waiting are totals for every replica together, and each
// takes its share (see package replica).
type Share struct {
	// InFlight and Waiting are this replica's slots and queue per shard.
	InFlight, Waiting int
	// Replicas is how many passing replicas the share was computed from.
	Replicas int
}

// shareMetrics are shearch_replicas and shearch_shard_slots{shard}.
type shareMetrics struct {
	replicas prometheus.Gauge
	slots    *prometheus.GaugeVec
}

func newShareMetrics() shareMetrics {
	m := shareMetrics{
		replicas: prometheus.NewGauge(prometheus.GaugeOpts{Name: "shearch_replicas",
			Help: "Replicas passing their Consul check that this one sees (1 when it runs alone)."}),
		slots: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shearch_shard_slots",
			Help: "This replica's share of shards.max_in_flight: the requests it may have open to a shard at once."}, []string{"shard"}),
	}
	m.replicas.Set(1)
	return m
}

// SetShare resizes every shard's slots and queue to this replica's share
// of the configured totals, clamped to 1..total (the queue to 0..total).
// Requests holding slots keep them: a smaller share is reached as they
// finish, and none is cut.
func (gs *Guards) SetShare(s Share) {
	s.InFlight = min(max(s.InFlight, 1), gs.cfg.MaxInFlight)
	s.Waiting = min(max(s.Waiting, 1), gs.cfg.MaxWaiting) // 0 stays no queue
	gs.mu.Lock()
	gs.share = &s
	guards := make([]*Guard, 0, len(gs.m))
	for _, g := range gs.m {
		guards = append(guards, g)
	}
	gs.mu.Unlock()
	gs.Metrics.share.replicas.Set(float64(s.Replicas))
	for _, g := range guards {
		g.applyShare(s)
	}
}

// CurrentShare is the share in force: the whole bounds until SetShare.
func (gs *Guards) CurrentShare() Share {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.share != nil {
		return *gs.share
	}
	return Share{InFlight: gs.cfg.MaxInFlight, Waiting: gs.cfg.MaxWaiting, Replicas: 1}
}

// initShareLocked gives a new guard the share in force; gs.mu is held.
func (gs *Guards) initShareLocked(g *Guard) {
	// The retries series exists from the start, so the dashboards' rate()
	// over it has a zero line to draw.
	gs.Metrics.retries.WithLabelValues(g.shard)
	if gs.share != nil {
		g.applyShare(*gs.share)
		return
	}
	g.applyShare(Share{InFlight: gs.cfg.MaxInFlight, Waiting: gs.cfg.MaxWaiting})
}

func (g *Guard) applyShare(s Share) {
	g.maxWaiting.Store(int64(s.Waiting))
	g.SetMaxInFlight(s.InFlight)
	g.metrics.share.slots.WithLabelValues(g.shard).Set(float64(s.InFlight))
}
