// Package shards is the client of one Chef server of the fleet: the Shard
// it talks to, the one builder of shard paths, signed requests, the
// per-shard guard and slots, and the decoding of search rows.
//
// How shards are found (static config, Route53, Consul) is
// internal/discovery's job, which hands them over as Shard values; this
// package must never import it, nor the engine (search) or the HTTP layer
// (server) that use it.
package shards

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
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

var stackRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// CheckStack says whether a stack name can be used: not empty, not "all"
// (which means every stack in queries), and one of known when known is set.
func CheckStack(stack string, known []string) error {
	switch {
	case stack == "":
		return errors.New("no stack configured")
	case stack == "all":
		return errors.New(`stack "all" is reserved (it means every stack)`)
	case !stackRE.MatchString(stack):
		return fmt.Errorf("unknown stack %q: stack names are lower-case letters, digits, '.', '_' and '-'", stack)
	case len(known) > 0 && !slices.Contains(known, stack):
		return fmt.Errorf("unknown stack %q (known: %s)", stack, strings.Join(known, ", "))
	}
	return nil
}
