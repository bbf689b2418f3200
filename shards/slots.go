package shards

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Ticket marks the shard requests of one client request (one distinct
// fan-out, its page fills and look-ups) as one unit of admission. Once any
// of them has been given a slot the request is admitted: its later shard
// requests go ahead of requests not yet admitted and take no queue place,
// so a request that has started is served or shed as a whole, and a
// burst cannot starve it between its pages.
type Ticket struct{ admitted atomic.Bool }

type ticketKey struct{}

// WithTicket gives ctx a ticket, unless it already carries one (a request
// that goes through several engine calls keeps a single ticket).
func WithTicket(ctx context.Context) context.Context {
	if TicketFrom(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, ticketKey{}, &Ticket{})
}

// TicketFrom is ctx's ticket, or nil.
func TicketFrom(ctx context.Context) *Ticket {
	t, _ := ctx.Value(ticketKey{}).(*Ticket)
	return t
}

// Admit marks ctx's request as started: it has work under way already
// (an answer shared with another caller, or a cached merge), so what it
// still asks of the shards goes first.
func Admit(ctx context.Context) { TicketFrom(ctx).admit() }

func (t *Ticket) isAdmitted() bool { return t != nil && t.admitted.Load() }

// slots is a shard's bound on requests in flight, with a queue in which
// admitted requests go first. Hand-written rather than
// golang.org/x/sync/semaphore: that queue is strictly FIFO, with no way to
// let a started request pass new ones, nor to change the bound while
// requests hold slots (a replica's share of a fleet-wide bound).
type slots struct {
	mu    sync.Mutex
	limit int
	used  int
	queue list.List // of *slotWaiter, in arrival order
	// fresh counts the queued waiters of requests not yet admitted: they
	// alone are bounded by search.max_waiting.
	fresh int
}

type slotWaiter struct {
	ready   chan struct{}
	ticket  *Ticket
	fresh   bool
	granted bool
}

func newSlots(limit int) *slots { return &slots{limit: max(limit, 1)} }

// slotRefusal says why acquire gave up; the guard turns it into its
// overload error.
type slotRefusal int

const (
	refusedQueueFull slotRefusal = iota + 1
	refusedWait
)

// acquire takes a slot, waiting at most maxWait, behind at most
// maxWaiting other requests not yet admitted. It returns 0 with the slot
// held, a refusal, or ctx's error (the slot not held).
func (s *slots) acquire(ctx context.Context, t *Ticket, maxWaiting int, maxWait time.Duration) (slotRefusal, error) {
	s.mu.Lock()
	if s.used < s.limit && s.queue.Len() == 0 {
		s.used++
		s.mu.Unlock()
		t.admit()
		return 0, nil
	}
	w := &slotWaiter{ready: make(chan struct{}), ticket: t, fresh: !t.isAdmitted()}
	if w.fresh {
		if s.fresh >= maxWaiting {
			s.mu.Unlock()
			return refusedQueueFull, nil
		}
		s.fresh++
	}
	el := s.queue.PushBack(w)
	s.mu.Unlock()

	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	var refusal slotRefusal
	var err error
	select {
	case <-w.ready:
		t.admit()
		return 0, nil
	case <-timer.C:
		refusal = refusedWait
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		// Given a slot as we gave up: hand it on.
		s.used--
		s.grant()
		return refusal, err
	}
	s.queue.Remove(el)
	if w.fresh {
		s.fresh--
	}
	return refusal, err
}

// admit is acquire's note that the ticket's request now holds a slot.
func (t *Ticket) admit() {
	if t != nil {
		t.admitted.Store(true)
	}
}

func (s *slots) release() {
	s.mu.Lock()
	s.used--
	s.grant()
	s.mu.Unlock()
}

// grant hands free slots to waiters: admitted requests first, in arrival
// order, then the others. Called with mu held.
func (s *slots) grant() {
	for s.used < s.limit && s.queue.Len() > 0 {
		el := s.queue.Front()
		for e := el; e != nil; e = e.Next() {
			if e.Value.(*slotWaiter).ticket.isAdmitted() {
				el = e
				break
			}
		}
		w := s.queue.Remove(el).(*slotWaiter)
		if w.fresh {
			s.fresh--
		}
		w.granted = true
		s.used++
		close(w.ready)
	}
}

// setLimit changes the bound. Requests already holding slots keep them;
// a lower bound is reached as they finish.
func (s *slots) setLimit(n int) {
	s.mu.Lock()
	s.limit = max(n, 1)
	s.grant()
	s.mu.Unlock()
}

// state is the bound, the slots held and the requests queued.
func (s *slots) state() (limit, used, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit, s.used, s.queue.Len()
}

// idle says a request would get a slot at once with one to spare.
func (s *slots) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used+1 < s.limit && s.queue.Len() == 0
}
