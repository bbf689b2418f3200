package shards

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the per-shard series. They are made unregistered so each
// server registers them in its own registry and tests run side by side.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    *prometheus.GaugeVec
	waiting     *prometheus.GaugeVec
	breakerOpen *prometheus.GaugeVec
	retries     *prometheus.CounterVec
	share       shareMetrics
}

// NewMetrics makes the shard series.
func NewMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shearch_shard_requests_total",
			Help: "Requests to a shard by outcome: HTTP status, or timeout, error, canceled, shed, breaker_open."}, []string{"shard", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shearch_shard_request_duration_seconds",
			Help: "Time a shard took to answer one request.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"shard"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shearch_shard_in_flight",
			Help: "Requests open to a shard now, all client requests together."}, []string{"shard"}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shearch_shard_queue_waiting",
			Help: "Requests waiting for a slot to a shard."}, []string{"shard"}),
		breakerOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shearch_shard_breaker_open",
			Help: "1 while a shard's circuit breaker is open or probing."}, []string{"shard"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shearch_shard_retries_total",
			Help: "Requests sent again after a connection error."}, []string{"shard"}),
		share: newShareMetrics(),
	}
}

// Collectors lists the series for registration.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.inFlight, m.waiting, m.breakerOpen, m.retries, m.share.replicas, m.share.slots}
}
