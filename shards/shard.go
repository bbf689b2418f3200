// Package shards holds what Shearch knows about each Chef server of the
// fleet: where it is, how to talk to it, and how it was found.
package shards

import (
	"time"

	"github.com/shearch/shearch/api"
)

// Source says where a shard was discovered.
type Source = api.Source

const (
	SourceStatic  Source = "static"
	SourceRoute53 Source = "route53"
	SourceConsul  Source = "consul"
)

// Health is what Consul's checks say about a shard. A critical shard is
// still queried: Consul may be wrong, and the shard holds nodes nobody else has.
type Health = api.Health

const (
	HealthUnknown  Health = "unknown"
	HealthPassing  Health = "passing"
	HealthWarning  Health = "warning"
	HealthCritical Health = "critical"
)

// Shard is one Chef server of a stack.
type Shard struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	Stack      string `json:"stack"`
	ClientName string `json:"client_name,omitempty"`
	// ClientKey is the path of the PEM key used to sign requests.
	ClientKey string `json:"-"`
	// Weight is the Route53 weight, kept for display only: a weight-0
	// shard takes no new nodes but still holds its old ones.
	Weight  *int64        `json:"weight,omitempty"`
	Source  Source        `json:"source"`
	Health  Health        `json:"health"`
	Timeout time.Duration `json:"-"`
	// CAFile, when set, is the CA the shard's TLS must chain to (Consul
	// shards: consul.shard_ca_file).
	CAFile string `json:"-"`
}
