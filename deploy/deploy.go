// Package deploy is the operators' kit for running Shearch replicas: the
// HAProxy configuration, a systemd unit, a Consul service definition, a
// replica's config, Prometheus alerting rules and a Grafana dashboard.
// The files are embedded so the tests (and `shearch dev --replicas`) run
// what is shipped.
package deploy

import _ "embed"

// HAProxyConfig is haproxy.cfg: round-robin over the replicas, each
// checked on /readyz, with retries on another replica.
//
//go:embed haproxy.cfg
var HAProxyConfig string

// AlertRules is alerts.yml, the Prometheus alerting rules.
//
//go:embed alerts.yml
var AlertRules []byte

// Dashboard is grafana-dashboard.json.
//
//go:embed grafana-dashboard.json
var Dashboard []byte
