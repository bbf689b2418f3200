// Package replica makes Shearch one of several behind a load balancer:
// its membership in Consul, and its share of the fleet-wide shard bounds.
package replica

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/shards"
)

// Config is what a replica needs to register and to size its share.
type Config struct {
	// ConsulAddress is the agent's HTTP API, host:port.
	ConsulAddress string
	// Service is the Consul service the replicas register as.
	Service string
	// Advertise is HOST:PORT where Consul's check reaches this replica.
	Advertise string
	// Scheme is how the check reaches /readyz: http or https.
	Scheme string
	// CheckInterval is how often Consul checks /readyz.
	CheckInterval time.Duration
	// MaxInFlight and MaxWaiting are the totals for all replicas.
	MaxInFlight, MaxWaiting int
	// Wait is how long one blocking query waits for a change (1m).
	Wait time.Duration
}

// Status is this replica's part in the fleet, for /v1/shards (the Go
// client's wire type).
type Status = api.ReplicaStatus

// Member registers this replica and keeps its share up to date.
type Member struct {
	cfg    Config
	id     string
	client *consulapi.Client
	guards *shards.Guards
	log    *slog.Logger

	mu           sync.Mutex
	status       Status
	registeredAt time.Time
	cancel       context.CancelFunc
	wg           sync.WaitGroup
}

// New checks cfg and builds the Consul client; it asks Consul nothing.
func New(cfg Config, guards *shards.Guards, log *slog.Logger) (*Member, error) {
	if log == nil {
		log = slog.Default()
	}
	host, port, err := net.SplitHostPort(cfg.Advertise)
	if err != nil || host == "" {
		return nil, fmt.Errorf("replica.advertise %q: want HOST:PORT", cfg.Advertise)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("replica.advertise %q: port %q is not a number", cfg.Advertise, port)
	}
	if cfg.Service == "" {
		cfg.Service = "shearch"
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = 2 * time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Minute
	}
	ac := consulapi.DefaultConfig()
	if cfg.ConsulAddress != "" {
		ac.Address = cfg.ConsulAddress
	}
	c, err := consulapi.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("consul %s: %v", ac.Address, err)
	}
	// One ID per advertised address: a replica restarted on the same
	// address replaces its old registration instead of adding a second.
	id := cfg.Service + "-" + strings.NewReplacer(":", "-", "[", "", "]", "").Replace(cfg.Advertise)
	m := &Member{cfg: cfg, id: id, client: c, guards: guards, log: log}
	sh := guards.CurrentShare()
	m.status = Status{Service: cfg.Service, ID: id, Advertise: cfg.Advertise, Replicas: sh.Replicas, Slots: sh.InFlight,
		Waiting: sh.Waiting, MaxInFlight: cfg.MaxInFlight, MaxWaiting: cfg.MaxWaiting}
	return m, nil
}

// ID is this replica's Consul service ID.
func (m *Member) ID() string { return m.id }

// Status is a copy of this replica's state.
func (m *Member) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Start registers the replica and learns its share once (bounded by ctx
// and a few seconds), then follows its service's health until Leave or
// ctx ends. Consul being down is not fatal: the replica serves with the
// whole bounds until Consul answers, and says so.
func (m *Member) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	m.cancel = cancel
	m.mu.Unlock()
	first, firstCancel := context.WithTimeout(ctx, 5*time.Second)
	err := m.register(first)
	var idx uint64
	if err == nil {
		idx, err = m.poll(first, 0, 0)
	}
	firstCancel()
	if err != nil {
		m.unreachable(err)
	}
	m.wg.Go(func() { m.follow(ctx, idx) })
}

// Leave deregisters the replica, first thing on SIGTERM, so the others
// take its share and Consul stops listing it; then stops following.
func (m *Member) Leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := m.client.Agent().ServiceDeregisterOpts(m.id, (&consulapi.QueryOptions{}).WithContext(ctx))
	m.mu.Lock()
	m.status.Registered = false
	stop := m.cancel
	m.mu.Unlock()
	if err != nil {
		m.log.Warn("cannot deregister from consul; its check will fail once this replica stops", "service", m.cfg.Service, "id", m.id, "error", err)
	} else {
		m.log.Info("deregistered from consul", "service", m.cfg.Service, "id", m.id)
	}
	if stop != nil {
		stop()
	}
	m.wg.Wait()
}

func (m *Member) register(ctx context.Context) error {
	host, portText, _ := net.SplitHostPort(m.cfg.Advertise)
	port, _ := strconv.Atoi(portText)
	reg := &consulapi.AgentServiceRegistration{ID: m.id, Name: m.cfg.Service, Address: host, Port: port,
		Check: &consulapi.AgentServiceCheck{
			CheckID:  "service:" + m.id,
			Name:     "Shearch /readyz",
			HTTP:     m.cfg.Scheme + "://" + m.cfg.Advertise + "/readyz",
			Interval: m.cfg.CheckInterval.String(),
			// A replica busy with a burst answers /readyz late; counting it
			// out then would let the others grow their shares while it
			// still holds its own. Two failures in a row, each with room to
			// answer, take it out; a dead one fails both at once.
			Timeout:                min(max(m.cfg.CheckInterval, 2*time.Second), 5*time.Second).String(),
			FailuresBeforeCritical: 2,
			// A replica that died without deregistering leaves the catalog
			// after a while; its failing check already took it out of the count.
			DeregisterCriticalServiceAfter: "10m",
		}}
	if err := m.client.Agent().ServiceRegisterOpts(reg, consulapi.ServiceRegisterOpts{}.WithContext(ctx)); err != nil {
		return fmt.Errorf("registering %s as consul service %s: %v", m.id, m.cfg.Service, err)
	}
	m.mu.Lock()
	m.status.Registered, m.registeredAt = true, time.Now()
	m.mu.Unlock()
	m.log.Info("registered in consul", "service", m.cfg.Service, "id", m.id, "check", reg.Check.HTTP, "interval", reg.Check.Interval)
	return nil
}

// follow runs blocking queries on the service's passing instances, and
// registers again when Consul comes back without us (an agent restart).
func (m *Member) follow(ctx context.Context, idx uint64) {
	const maxBackoff = 5 * time.Second
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		if !m.Status().Registered {
			if err := m.register(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				m.unreachable(err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, maxBackoff)
				continue
			}
		}
		began := time.Now()
		wait := m.cfg.Wait
		if !m.Status().Passing {
			// Not passing: look again soon, to register again if lost.
			wait = min(wait, max(time.Second, 2*m.cfg.CheckInterval))
		}
		next, err := m.poll(ctx, idx, wait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.unreachable(err)
			idx = 0
			sleep(ctx, backoff)
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = 500 * time.Millisecond
		m.reregisterIfLost()
		if next < idx {
			next = 0 // Consul's rule: an index going back means start over
		}
		idx = next
		// A blocking query that returns at once with nothing new must not
		// spin.
		if d := 100*time.Millisecond - time.Since(began); d > 0 {
			sleep(ctx, d)
		}
	}
}

// poll reads the passing instances (blocking while index is current) and
// applies the share they give.
func (m *Member) poll(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
	q := &consulapi.QueryOptions{WaitIndex: index, WaitTime: wait}
	entries, meta, err := m.client.Health().Service(m.cfg.Service, "", true, q.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("consul health of service %s: %v", m.cfg.Service, err)
	}
	ids := make([]string, 0, len(entries))
	self := false
	for _, e := range entries {
		if e.Service != nil {
			ids = append(ids, e.Service.ID)
			self = self || e.Service.ID == m.id
		}
	}
	sh := Compute(m.cfg.MaxInFlight, m.cfg.MaxWaiting, ids, m.id)
	m.apply(sh, self)
	return meta.LastIndex, nil
}

// reregisterIfLost registers again a replica that has not passed for a
// while since it registered: a Consul agent restarted without its state
// forgets the service, and nothing else would bring it back.
func (m *Member) reregisterIfLost() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.status.Registered && !m.status.Passing && time.Since(m.registeredAt) > max(5*time.Second, 5*m.cfg.CheckInterval) {
		m.status.Registered = false
	}
}

func (m *Member) apply(sh shards.Share, self bool) {
	m.mu.Lock()
	st := &m.status
	st.Passing = self
	wasDown := st.ConsulUnreachable
	changed := st.Slots != sh.InFlight || st.Waiting != sh.Waiting || st.Replicas != sh.Replicas || st.ShareSince.IsZero()
	st.ConsulUnreachable, st.LastError = false, ""
	if changed {
		st.Replicas, st.Slots, st.Waiting, st.ShareSince = sh.Replicas, sh.InFlight, sh.Waiting, time.Now()
	}
	m.mu.Unlock()
	if wasDown {
		m.log.Info("consul answers again; following the replicas' share", "service", m.cfg.Service)
	}
	if changed {
		m.guards.SetShare(sh)
		m.log.Info("replica share", "service", m.cfg.Service, "passing_replicas", sh.Replicas, "self_passing", self,
			"slots", sh.InFlight, "max_in_flight", m.cfg.MaxInFlight, "waiting", sh.Waiting, "max_waiting", m.cfg.MaxWaiting)
	}
}

func (m *Member) unreachable(err error) {
	m.mu.Lock()
	st := &m.status
	first := !st.ConsulUnreachable
	st.ConsulUnreachable, st.LastError = true, err.Error()
	slots := st.Slots
	m.mu.Unlock()
	if first {
		m.log.Warn("consul unreachable; keeping the last replica share", "service", m.cfg.Service, "slots", slots,
			"max_in_flight", m.cfg.MaxInFlight, "error", err)
	}
}

// Compute is the share of the replica self among the passing ones: the
// totals divided by their count, the remainder going one each to the
// first by ID, so the shares sum to the totals; at least 1 each. A
// replica that does not pass (yet) takes 1: the passing ones share the
// whole bound between them, and the load balancer, which checks the same
// /readyz, sends it nothing meanwhile.
func Compute(maxInFlight, maxWaiting int, passing []string, self string) shards.Share {
	ids := slices.Clone(passing)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	n := len(ids)
	i, found := slices.BinarySearch(ids, self)
	if !found {
		return shards.Share{InFlight: 1, Waiting: 1, Replicas: n}
	}
	part := func(total int) int {
		p := total / len(ids)
		if i < total%len(ids) {
			p++
		}
		return max(p, 1)
	}
	return shards.Share{InFlight: part(maxInFlight), Waiting: part(maxWaiting), Replicas: n}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
