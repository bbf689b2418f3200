package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry of the Server's own, not the global one, so
// several servers (tests) run side by side in one process.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	shed     *prometheus.CounterVec
	drift    *prometheus.GaugeVec
	handler  http.Handler
}

// newMetrics registers the server's metrics on reg; a nil reg is a new
// registry, given the engine's collectors too.
func newMetrics(e Engine, reg *prometheus.Registry) *metrics {
	own := reg == nil
	if own {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shearch_http_requests_total",
			Help: "HTTP requests served, by route pattern and status (499: the client went away)."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shearch_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.ExponentialBuckets(0.002, 2, 14)}, []string{"route"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shearch_requests_shed_total",
			Help: "Requests refused under load with Retry-After: 429 (queue full or wait too long) or 503 (shard failing)."}, []string{"code"}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shearch_drift_objects",
			Help: "Objects that differ between the shards of a stack, as the last GET /v1/consistency found."}, []string{"stack"}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.shed, m.drift)
	// Zero series exist from the start, so a rate() over them works
	// before the first shed request.
	m.shed.WithLabelValues("429")
	m.shed.WithLabelValues("503")
	if e != nil {
		m.drift.WithLabelValues(e.Stack(""))
	}
	if e != nil && own {
		m.reg.MustRegister(e.Collectors()...)
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }
