package api

import (
	"encoding/json"
	"sort"
	"time"
)

// The wire types below are Shearch's answers. The server encodes these
// same types (its engine refers to them by alias), so the client and the
// server cannot drift apart.

// Row is one merged hit of a search.
type Row struct {
	Name   string `json:"name"`
	Shard  string `json:"shard"`
	Source string `json:"source"`
	URL    string `json:"url,omitempty"`
	// Data is the object (or partial-search hash) as the shard sent it:
	// raw JSON, so numbers keep their text. Decode it with Decode, Node or
	// Object.
	Data json.RawMessage `json:"data"`
	// Ohai is the server's copy of a node's automatic.ohai_time, which its
	// duplicate rule compares. It is never sent: always empty in a client.
	Ohai string `json:"-"`
}

// Sources of a row.
const (
	SourceChef   = "chef"
	SourceConsul = "consul"
)

// ShardStatus is what one shard did for a request.
type ShardStatus struct {
	Name   string `json:"name"`
	Stack  string `json:"stack"`
	Status string `json:"status"` // ok, failed, fallback
	Rows   int    `json:"rows"`
	TookMS int64  `json:"took_ms"`
	Error  string `json:"error"`
	// Unchecked lists query fields the fallback could not evaluate.
	Unchecked []string `json:"unchecked,omitempty"`
	// FallbackRows counts rows that came from Consul for this shard.
	FallbackRows int `json:"fallback_rows,omitempty"`
}

// Shard statuses.
const (
	StatusOK       = "ok"
	StatusFailed   = "failed"
	StatusFallback = "fallback"
)

// ShardSummary is the per-shard part of an answer.
type ShardSummary struct {
	Total   int           `json:"total"`
	OK      int           `json:"ok"`
	Failed  int           `json:"failed"`
	Details []ShardStatus `json:"details"`
}

// FailedNames lists the shards that did not answer from Chef.
func (s ShardSummary) FailedNames() []string {
	var out []string
	for _, d := range s.Details {
		if d.Status != StatusOK {
			out = append(out, d.Name)
		}
	}
	return out
}

// Duplicate is an object found on more than one shard.
type Duplicate struct {
	Name  string   `json:"name"`
	Kept  string   `json:"kept"`
	Stale []string `json:"stale"`
	// Differs is true when the copies are not identical (roles,
	// environments and data bags drift between shards).
	Differs bool `json:"differs,omitempty"`
}

// Result is one page of a search.
type Result struct {
	Total  int          `json:"total"`
	Start  int          `json:"start"`
	Rows   []Row        `json:"rows"`
	Shards ShardSummary `json:"shards"`
	// Duplicates are those of this page's rows; DuplicatesTotal counts
	// them over the whole answer.
	Duplicates      []Duplicate `json:"duplicates"`
	DuplicatesTotal int         `json:"duplicates_total,omitempty"`
	Cached          bool        `json:"cached,omitempty"`
	// NextCursor, when set, fetches the page after this one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// FacetCounts are the counts of one attribute.
type FacetCounts struct {
	// Values maps each value's text to the number of rows holding it.
	Values map[string]int `json:"values"`
	// Missing counts rows where the attribute is absent or null.
	Missing int `json:"missing"`
	// Other counts values not kept once MaxValues distinct values were
	// known; Truncated says that happened.
	Other     int  `json:"other,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
}

// SortedValues lists a facet's values by count, highest first, then by
// value.
func (c *FacetCounts) SortedValues() []string {
	out := make([]string, 0, len(c.Values))
	for v := range c.Values {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if c.Values[out[i]] != c.Values[out[j]] {
			return c.Values[out[i]] > c.Values[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// ShardFacets are the counts of the rows one shard contributed to the
// merged answer (after duplicates were dropped).
type ShardFacets struct {
	Total  int                     `json:"total"`
	Facets map[string]*FacetCounts `json:"facets"`
}

// Facets is the answer of a facet request.
type Facets struct {
	Total   int                     `json:"total"`
	Facets  map[string]*FacetCounts `json:"facets"`
	ByShard map[string]*ShardFacets `json:"by_shard"`
	// By holds the counts per value of FacetOptions.By ("" for rows
	// without it), when asked.
	By map[string]*ShardFacets `json:"by,omitempty"`
	// ByOther counts the rows of the groups past the request's bound
	// (max_values groups, or the facet bytes); ByTruncated says there
	// were some.
	ByOther     *ShardFacets `json:"by_other,omitempty"`
	ByTruncated bool         `json:"by_truncated,omitempty"`
	Shards      ShardSummary `json:"shards"`
	Duplicates  []Duplicate  `json:"duplicates"`
	Cached      bool         `json:"cached,omitempty"`
}

// Source says where a shard was discovered: static, route53 or consul.
type Source string

// Health is what Consul's checks say about a shard: unknown, passing,
// warning or critical.
type Health string

// Topology is the body of GET /v1/shards.
type Topology struct {
	Version    uint64             `json:"version"`
	UpdatedAt  time.Time          `json:"updated_at"`
	AgeSeconds float64            `json:"age_seconds"`
	Stale      bool               `json:"stale"`
	Shards     []TopologyShard    `json:"shards"`
	Sources    []SourceStatus     `json:"sources"`
	Problems   []DiscoveryProblem `json:"problems"`
	// Replica is the answering replica's part of the fleet-wide shard
	// bounds.
	Replica *ReplicaStatus `json:"replica,omitempty"`
}

// ReplicaStatus is one Shearch replica's part in the fleet: shards.max_in_flight
// and search.max_waiting are totals for all replicas, each takes a share.
type ReplicaStatus struct {
	// Service, ID and Advertise are its Consul registration; empty when it
	// runs alone.
	Service   string `json:"service,omitempty"`
	ID        string `json:"id,omitempty"`
	Advertise string `json:"advertise,omitempty"`
	// Replicas is how many replicas pass their check, as this one last saw.
	Replicas int `json:"replicas"`
	// Slots and Waiting are this replica's share, per shard, of
	// MaxInFlight and MaxWaiting, the totals for all replicas.
	Slots       int  `json:"slots"`
	MaxInFlight int  `json:"max_in_flight"`
	Waiting     int  `json:"waiting"`
	MaxWaiting  int  `json:"max_waiting"`
	Registered  bool `json:"registered"`
	// Passing says Consul lists this replica as passing its check.
	Passing bool `json:"passing"`
	// ConsulUnreachable is true while Consul does not answer: the share
	// is then the last one learnt (LastError says why).
	ConsulUnreachable bool      `json:"consul_unreachable,omitempty"`
	LastError         string    `json:"last_error,omitempty"`
	ShareSince        time.Time `json:"share_since,omitzero"`
}

// TopologyShard is one shard of the topology.
type TopologyShard struct {
	Name   string `json:"name"`
	Stack  string `json:"stack"`
	URL    string `json:"url"`
	Weight *int64 `json:"weight,omitempty"`
	Source Source `json:"source"`
	// Sources lists every source that knows the shard, winner first.
	Sources     []Source  `json:"sources"`
	Health      Health    `json:"health"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// SourceStatus is one discovery source's state.
type SourceStatus struct {
	Source Source `json:"source"`
	// State: ok; stale (the last attempt failed, last-known-good is
	// served); failed (failing and nothing known from it); pending.
	State       string    `json:"state"`
	Shards      int       `json:"shards"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	FromCache   bool      `json:"from_cache,omitempty"`
	// Cache says which last-known-good is served: consul_kv (the
	// replicas' shared topology) or file (the replica's cache_file).
	Cache string `json:"cache,omitempty"`
}

// DiscoveryProblem is a record a discovery source could not use.
type DiscoveryProblem struct {
	Source Source `json:"source"`
	// Where names the record set (Route53) or node/service (Consul).
	Where   string `json:"where"`
	Shard   string `json:"shard,omitempty"`
	Problem string `json:"problem"`
}

func (p DiscoveryProblem) String() string {
	s := string(p.Source) + " " + p.Where
	if p.Shard != "" {
		s += " (" + p.Shard + ")"
	}
	return s + ": " + p.Problem
}

// Location is the body of GET /v1/nodes/{name}: which shards hold a node
// and the copy that wins.
type Location struct {
	Name string `json:"name"`
	// Shards holds a copy each, sorted.
	Shards     []string        `json:"shards"`
	Kept       string          `json:"kept"`
	Duplicates []Duplicate     `json:"duplicates"`
	Node       json.RawMessage `json:"node"`
	// ShardStatus is what each shard answered.
	ShardStatus ShardSummary `json:"shard_status"`
}

// Drift is one object that is not the same on every shard of a stack.
type Drift struct {
	Kind string `json:"kind"` // role, environment, data_bag_item, cookbook_version
	Name string `json:"name"`
	// Versions groups the shards by the copy they hold, most common first.
	Versions []DriftVersion `json:"versions"`
	// Missing lists the shards that do not have the object at all.
	Missing []string `json:"missing"`
}

// DriftVersion is one copy of a drifting object.
type DriftVersion struct {
	Hash   string   `json:"hash"`
	Shards []string `json:"shards"`
	// Keys are the top-level keys where this copy differs from the most
	// common one (empty for the most common copy itself).
	Keys []string `json:"differing_keys"`
}

// Consistency is the drift report of a stack (GET /v1/consistency).
type Consistency struct {
	Stack   string       `json:"stack"`
	Checked int          `json:"checked"`
	Drift   []Drift      `json:"drift"`
	Shards  ShardSummary `json:"shards"`
}

// RepairAction makes one drifting object the same on every shard: the
// majority copy is written where another copy is (Update) or none is
// (Create); when most shards do not hold the object, it is removed from
// the others (Delete).
type RepairAction struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Hash is the majority copy's hash, as in Consistency.
	Hash string `json:"hash,omitempty"`
	// From is a shard holding the majority copy.
	From   string   `json:"from,omitempty"`
	Update []string `json:"update,omitempty"`
	Create []string `json:"create,omitempty"`
	Delete []string `json:"delete,omitempty"`
}

// RepairPlan is what a repair of a stack would change
// (GET /v1/consistency/repair).
type RepairPlan struct {
	Stack   string         `json:"stack"`
	Actions []RepairAction `json:"actions"`
	// Unrepairable lists drift a repair cannot fix through the Chef API
	// (cookbook versions: upload them with knife cookbook upload).
	Unrepairable []Drift      `json:"unrepairable"`
	Shards       ShardSummary `json:"shards"`
}

// RepairRequest is the body of POST /v1/consistency/repair: the actions
// to apply, as RepairPlan listed them (none: the whole current plan).
// Stack names the stack when the request is Chef-signed, since the
// signature covers the body and not the query.
type RepairRequest struct {
	Stack   string         `json:"stack,omitempty"`
	Actions []RepairAction `json:"actions"`
}

// RepairDone is one applied action and every shard's outcome.
type RepairDone struct {
	RepairAction
	Outcomes []WriteOutcome `json:"outcomes"`
}

// RepairSkip is a planned action not applied, and why.
type RepairSkip struct {
	RepairAction
	Reason string `json:"reason"`
}

// RepairReport is what a repair did (POST /v1/consistency/repair).
type RepairReport struct {
	Stack   string       `json:"stack"`
	Applied []RepairDone `json:"applied"`
	Skipped []RepairSkip `json:"skipped"`
	// Failed counts applied actions where some shard was not changed.
	Failed int `json:"failed"`
}

// Outcome statuses of one shard's part in a write.
const (
	WriteOK      = "ok"      // done
	WriteCreated = "created" // a PUT found nothing there, so the object was created to match the others
	WriteAbsent  = "absent"  // a DELETE found nothing there: already as wanted
	WriteExists  = "exists"  // a create found the object there already (409)
	WriteRefused = "refused" // the shard answered 4xx
	WriteFailed  = "failed"  // no answer, or 5xx
	WriteSkipped = "skipped" // not sent: the shard does not hold the object
)

// WriteOutcome is one shard's part in a write.
type WriteOutcome struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Code is the shard's HTTP status; 0 when it did not answer.
	Code  int    `json:"code"`
	Error string `json:"error,omitempty"`
}

// Done says the shard holds what the write asked for.
func (o WriteOutcome) Done() bool {
	return o.Status == WriteOK || o.Status == WriteCreated || o.Status == WriteAbsent
}
