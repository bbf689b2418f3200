package shards

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sony/gobreaker/v2"
)

// GuardConfig bounds what all client requests together send to one shard.
// Zero fields take the defaults in DefaultGuardConfig.
type GuardConfig struct {
	// MaxInFlight is the most requests open to one shard at once.
	MaxInFlight int
	// MaxWaiting is the most requests queued for one shard's slots;
	// beyond it a request is shed at once. Negative means no queue.
	MaxWaiting int
	// MaxWait is the longest a request waits for a slot.
	MaxWait time.Duration
	// BreakerFailures consecutive connection failures or timeouts open
	// the shard's breaker.
	BreakerFailures int
	// BreakerInterval is how long an open breaker waits before letting
	// one probe through.
	BreakerInterval time.Duration
	// RetryBudget is the share of extra requests retries may add (0.1 is
	// at most 10% more requests than first attempts). Negative disables
	// retries.
	RetryBudget float64
	// MinRetryAfter and MaxRetryAfter bound the Retry-After of a shed
	// request, which is otherwise the time the queue ahead of it takes.
	MinRetryAfter time.Duration
	MaxRetryAfter time.Duration
}

// DefaultGuardConfig is what Shearch runs with when nothing is set.
var DefaultGuardConfig = GuardConfig{MaxInFlight: 16, MaxWaiting: 256, MaxWait: 5 * time.Second,
	BreakerFailures: 5, BreakerInterval: 10 * time.Second, RetryBudget: 0.1,
	MinRetryAfter: time.Second, MaxRetryAfter: 30 * time.Second}

func (c GuardConfig) withDefaults() GuardConfig {
	d := DefaultGuardConfig
	if c.MaxInFlight > 0 {
		d.MaxInFlight = c.MaxInFlight
	}
	if c.MaxWaiting != 0 {
		d.MaxWaiting = max(c.MaxWaiting, 0) // negative: no queue at all
	}
	if c.MaxWait > 0 {
		d.MaxWait = c.MaxWait
	}
	if c.BreakerFailures > 0 {
		d.BreakerFailures = c.BreakerFailures
	}
	if c.BreakerInterval > 0 {
		d.BreakerInterval = c.BreakerInterval
	}
	if c.RetryBudget != 0 {
		d.RetryBudget = c.RetryBudget
	}
	if c.MinRetryAfter > 0 {
		d.MinRetryAfter = c.MinRetryAfter
	}
	if c.MaxRetryAfter > 0 {
		d.MaxRetryAfter = c.MaxRetryAfter
	}
	d.MaxRetryAfter = max(d.MaxRetryAfter, d.MinRetryAfter)
	return d
}

// Guards holds one Guard per shard name, shared by every client of that
// shard, so the bound holds across all requests.
type Guards struct {
	cfg     GuardConfig
	log     *slog.Logger
	Metrics *Metrics

	mu    sync.Mutex
	m     map[string]*Guard
	share *Share // nil: the whole bounds (share.go)
}

// NewGuards makes the per-shard guards; log may be nil.
func NewGuards(cfg GuardConfig, log *slog.Logger) *Guards {
	if log == nil {
		log = slog.Default()
	}
	return &Guards{cfg: cfg.withDefaults(), log: log, Metrics: NewMetrics(), m: map[string]*Guard{}}
}

// Config is the effective configuration, defaults filled in.
func (gs *Guards) Config() GuardConfig { return gs.cfg }

// For returns the guard of a shard, making it on first use.
func (gs *Guards) For(shard string) *Guard {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if g, ok := gs.m[shard]; ok {
		return g
	}
	g := &Guard{shard: shard, cfg: gs.cfg, log: gs.log, metrics: gs.Metrics,
		slots: newSlots(gs.cfg.MaxInFlight)}
	g.budget.ratio = gs.cfg.RetryBudget
	g.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        shard,
		MaxRequests: 1,
		Timeout:     gs.cfg.BreakerInterval,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(gs.cfg.BreakerFailures) },
		// Only a shard that cannot be reached or does not answer in time
		// is broken; an HTTP error is an answer.
		IsSuccessful: func(err error) bool { return !breaks(err) },
		// A caller that left, or a request shed before it was sent, says
		// nothing about the shard.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) || isOverloaded(err) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			open := 0.0
			if to != gobreaker.StateClosed {
				open = 1
			}
			g.metrics.breakerOpen.WithLabelValues(name).Set(open)
			g.log.Warn("shard breaker", "shard", name, "from", from.String(), "to", to.String())
		},
	})
	g.metrics.breakerOpen.WithLabelValues(shard).Set(0)
	g.metrics.inFlight.WithLabelValues(shard).Set(0)
	g.metrics.waiting.WithLabelValues(shard).Set(0)
	gs.initShareLocked(g)
	gs.m[shard] = g
	return g
}

// Guard bounds, breaks and retries the requests to one shard.
type Guard struct {
	shard   string
	cfg     GuardConfig
	log     *slog.Logger
	metrics *Metrics
	slots   *slots
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	budget  retryBudget
	// broken is the last sent request's outcome: unreachable or too slow.
	broken atomic.Bool
	// maxWaiting is this replica's share of search.max_waiting (share.go).
	maxWaiting atomic.Int64
	// latency is a moving average of the shard's answer time in
	// nanoseconds, for Retry-After.
	latency atomic.Int64
}

// Reachable says whether the shard answered its last request (or has not
// been asked yet) and its breaker is not open.
func (g *Guard) Reachable() bool {
	return !g.broken.Load() && g.cb.State() != gobreaker.StateOpen
}

// OverloadedError is a request shed before it reached the shard: its
// queue was full or the wait too long. Status is 429, or 503 when the
// shard itself is failing.
type OverloadedError struct {
	Shard      string
	Status     int
	RetryAfter time.Duration
	Reason     string
}

// ShardFailing says the request was shed because the shard itself is
// failing (503), rather than because its queue is full (429).
func (e *OverloadedError) ShardFailing() bool { return e.Status == 503 }

func (e *OverloadedError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *OverloadedError) Detail() string {
	return fmt.Sprintf("overloaded: %s; retry after %s", e.Reason, e.RetryAfter)
}

// ShardName is the shard that failed.
func (e *OverloadedError) ShardName() string { return e.Shard }

// BreakerOpenError is a request not sent because the shard's breaker is
// open after repeated failures.
type BreakerOpenError struct {
	Shard    string
	Interval time.Duration
}

func (e *BreakerOpenError) Error() string { return "shard " + e.Shard + ": " + e.Detail() }

// Detail is the error without the shard's name.
func (e *BreakerOpenError) Detail() string {
	return fmt.Sprintf("breaker open: repeated connection failures or timeouts; one probe every %s until it recovers", e.Interval)
}

// ShardName is the shard that failed.
func (e *BreakerOpenError) ShardName() string { return e.Shard }

func isOverloaded(err error) bool {
	var oe *OverloadedError
	return errors.As(err, &oe)
}

// breaks says whether err means the shard is unreachable or too slow.
func breaks(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || isTimeout(err) || isConnError(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnError is a request that never reached the shard: nothing was
// sent, so sending it again cannot do anything twice.
func isConnError(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" && !oe.Timeout()
}

// Do runs send under the shard's bounds. idempotent allows one retry, on a
// connection error only, when the retry budget has room. The shard's
// time (WithShardTimeout) runs only while the request holds its slot.
func (g *Guard) Do(ctx context.Context, idempotent bool, send func(context.Context) (int, []byte, error)) ([]byte, error) {
	if g.cb.State() == gobreaker.StateOpen {
		g.metrics.requests.WithLabelValues(g.shard, "breaker_open").Inc()
		return nil, &BreakerOpenError{Shard: g.shard, Interval: g.cfg.BreakerInterval}
	}
	if err := g.acquire(ctx); err != nil {
		code := "shed"
		if !isOverloaded(err) {
			code = "canceled"
		}
		g.metrics.requests.WithLabelValues(g.shard, code).Inc()
		return nil, err
	}
	// The slot is held until the shard is done with the request. One that
	// Shearch abandoned (its client left, the request was shed elsewhere,
	// the shard clock ran out) is still being worked on by the shard,
	// which never hears of the cancellation until it writes: its slot is
	// given back only after about the time the shard takes to answer, so
	// the bound holds from the shard's side too.
	abandoned := false
	defer func() {
		if !abandoned {
			g.slots.release()
			return
		}
		time.AfterFunc(g.drainTime(), g.slots.release)
	}()
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		// The client left as the slot came (or before): nothing is sent,
		// so nothing keeps the shard busy and the slot is free at once.
		g.metrics.requests.WithLabelValues(g.shard, "canceled").Inc()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < minBudget {
		// The client request's own time (Shearch's bound, not the
		// shard's) is spent: sending now would only be cut short.
		g.metrics.requests.WithLabelValues(g.shard, "shed").Inc()
		return nil, g.overloaded("the request's time ran out while it waited for a slot")
	}
	actx := ctx
	var limit time.Duration
	if clk := clockFor(ctx, g.shard); clk != nil {
		left := clk.start()
		defer clk.stop()
		limit = clk.limit
		if left <= 0 {
			g.metrics.requests.WithLabelValues(g.shard, "timeout").Inc()
			return nil, &TimeoutError{Shard: g.shard, Limit: limit}
		}
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, left)
		defer cancel()
	}
	body, err := g.run(ctx, actx, idempotent, send)
	abandoned = err != nil && actx.Err() != nil
	if err != nil && limit > 0 && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = &TimeoutError{Shard: g.shard, Limit: limit}
	}
	return g.finish(ctx, body, err)
}

// run sends on actx, with one retry on a connection error, under the
// breaker. ctx is the client request's: when it ended, the outcome says
// nothing of the shard.
func (g *Guard) run(ctx, actx context.Context, idempotent bool, send func(context.Context) (int, []byte, error)) ([]byte, error) {
	done, err := g.cb.Allow()
	if err != nil {
		// Half-open with its one probe already out.
		g.metrics.requests.WithLabelValues(g.shard, "breaker_open").Inc()
		return nil, &BreakerOpenError{Shard: g.shard, Interval: g.cfg.BreakerInterval}
	}
	g.budget.deposit()
	body, err := g.attempt(actx, send)
	if err != nil && idempotent && isConnError(err) && actx.Err() == nil && g.budget.withdraw() {
		// Jitter spreads the retries of many callers that failed at once.
		t := time.NewTimer(time.Duration(10+rand.IntN(40)) * time.Millisecond)
		select {
		case <-actx.Done():
			t.Stop()
		case <-t.C:
			g.metrics.retries.WithLabelValues(g.shard).Inc()
			body, err = g.attempt(actx, send)
		}
	}
	if err != nil && ctx.Err() != nil {
		done(context.Canceled)
	} else {
		done(err)
	}
	return body, err
}

// finish records the outcome of a sent request. ctx is the client
// request's: a deadline of its own that cut the shard's part short is
// Shearch's limit, an overload, never the shard's failure.
func (g *Guard) finish(ctx context.Context, body []byte, err error) ([]byte, error) {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, g.overloaded("the request's time ran out while the shard answered")
	}
	var be *BreakerOpenError
	if errors.As(err, &be) {
		return nil, err // not sent: nothing learnt of the shard
	}
	if !errors.Is(err, context.Canceled) {
		g.broken.Store(breaks(err))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		var se *StatusError
		if !errors.As(err, &se) || se.Status >= 500 {
			// The one log line per shard failure, with its cause.
			g.log.Warn("shard request failed", "shard", g.shard, "request_id", RequestID(ctx), "err", err)
		}
	}
	return body, err
}

func (g *Guard) attempt(ctx context.Context, send func(context.Context) (int, []byte, error)) ([]byte, error) {
	g.metrics.inFlight.WithLabelValues(g.shard).Inc()
	begin := time.Now()
	status, body, err := send(ctx)
	took := time.Since(begin)
	g.metrics.duration.WithLabelValues(g.shard).Observe(took.Seconds())
	if err == nil {
		g.observeLatency(took)
	}
	g.metrics.inFlight.WithLabelValues(g.shard).Dec()
	code := strconv.Itoa(status)
	switch {
	case errors.Is(err, context.Canceled):
		code = "canceled"
	case status == 0 && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)):
		code = "timeout"
	case status == 0 && err != nil:
		code = "error"
	}
	g.metrics.requests.WithLabelValues(g.shard, code).Inc()
	return body, err
}

// acquire takes a slot, waiting in a bounded queue for a bounded time.
// Requests of a client request already admitted go first and take no
// queue place.
func (g *Guard) acquire(ctx context.Context) error {
	g.metrics.waiting.WithLabelValues(g.shard).Inc()
	defer g.metrics.waiting.WithLabelValues(g.shard).Dec()
	refusal, err := g.slots.acquire(ctx, TicketFrom(ctx), int(g.maxWaiting.Load()), g.cfg.MaxWait)
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case err != nil:
		return g.overloaded("the request's time ran out while it waited for a slot")
	case refusal == refusedQueueFull:
		limit, _, _ := g.slots.state()
		return g.overloaded(fmt.Sprintf("%d requests already wait for one of its %d slots (search.max_waiting)", g.maxWaiting.Load(), limit))
	case refusal == refusedWait:
		return g.overloaded(fmt.Sprintf("no slot free within %s (search.max_wait)", g.cfg.MaxWait))
	}
	return nil
}

// overloaded is a shed request. Retry-After is about the time the queue
// ahead takes to drain at the shard's recent pace, within
// [search.retry_after_min, search.retry_after_max], spread by up to half
// again so the clients shed at one moment do not all come back together.
// A failing shard (503) is worth asking again once its breaker probes.
func (g *Guard) overloaded(reason string) *OverloadedError {
	e := &OverloadedError{Shard: g.shard, Status: 429, Reason: reason}
	if g.cb.State() != gobreaker.StateClosed || g.cb.Counts().ConsecutiveFailures > 0 {
		e.Status = 503
		e.RetryAfter = min(max(g.cfg.BreakerInterval, g.cfg.MinRetryAfter), g.cfg.MaxRetryAfter)
		return e
	}
	limit, used, waiting := g.slots.state()
	drain := time.Duration(float64(used+waiting) / float64(limit) * float64(g.latency.Load()))
	drain += time.Duration(rand.Int64N(int64(drain/2) + 1))
	// Whole seconds, as the header carries them.
	e.RetryAfter = min(max(drain, g.cfg.MinRetryAfter), g.cfg.MaxRetryAfter).Round(time.Second)
	return e
}

// observeLatency folds one answer time into the moving average (weight
// 1/8: a few answers move it, one slow one does not).
func (g *Guard) observeLatency(d time.Duration) {
	for {
		old := g.latency.Load()
		next := old + (int64(d)-old)/8
		if old == 0 {
			next = int64(d)
		}
		if g.latency.CompareAndSwap(old, next) {
			return
		}
	}
}

// State is the shard's bound on requests in flight, the requests open
// and those waiting for a slot.
func (g *Guard) State() (limit, open, waiting int) { return g.slots.state() }

// drainTime is how long an abandoned request is taken to keep the shard
// busy: its recent answer time, within [10ms, 2s].
func (g *Guard) drainTime() time.Duration {
	return min(max(time.Duration(g.latency.Load()), 10*time.Millisecond), 2*time.Second)
}

// SetMaxInFlight changes the shard's bound on requests in flight.
func (g *Guard) SetMaxInFlight(n int) { g.slots.setLimit(n) }

// Idle says a request would be sent at once, with a slot to spare: worth
// sending a speculative request alongside.
func (g *Guard) Idle() bool { return g.slots.idle() }

// retryBudget allows retries up to ratio times the first attempts: each
// attempt deposits ratio, a retry withdraws one. The balance is capped so
// a long quiet spell cannot save up a storm. Hand-written: the rule is
// five lines, and no well-kept Go library offers it alone.
type retryBudget struct {
	mu      sync.Mutex
	ratio   float64
	balance float64
}

const maxRetryBalance = 10

// minBudget is the least time worth sending a request with.
const minBudget = 100 * time.Millisecond

func (b *retryBudget) deposit() {
	b.mu.Lock()
	b.balance = min(b.balance+b.ratio, maxRetryBalance)
	b.mu.Unlock()
}

func (b *retryBudget) withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ratio <= 0 || b.balance < 1 {
		return false
	}
	b.balance--
	return true
}

// CloseIdleConnections drops the kept-alive connections to every shard
// (tests count goroutines; a shutdown has no more use for them).
func CloseIdleConnections() { sharedTransport.CloseIdleConnections() }
