package server

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/fault"
)

// ScanLimits bound the drift scans one caller may start. A report served
// again (drift.Config.ReportTTL) or a scan already under way costs
// nothing; each new scan, and each repair plan (GET
// /v1/consistency/repair, which always reads afresh), is one of a
// caller's PerCaller per Window. A repair itself (POST, writers only)
// reads afresh and is not counted: writers are trusted to change the
// shards, let alone read them.
type ScanLimits struct {
	PerCaller int           // default 6
	Window    time.Duration // default 1m
}

func (l ScanLimits) withDefaults() ScanLimits {
	if l.PerCaller <= 0 {
		l.PerCaller = 6
	}
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	return l
}

// scanBudget remembers when each caller started its recent scans.
type scanBudget struct {
	mu      sync.Mutex
	callers map[string][]time.Time
}

// maxScanCallers bounds the callers remembered: past it, those with no
// scan inside the window are forgotten.
const maxScanCallers = 10000

// take counts a scan for caller, or says how long until one is free.
func (b *scanBudget) take(caller string, l ScanLimits, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.callers == nil {
		b.callers = map[string][]time.Time{}
	}
	recent := b.callers[caller]
	for len(recent) > 0 && now.Sub(recent[0]) >= l.Window {
		recent = recent[1:]
	}
	if len(recent) >= l.PerCaller {
		b.callers[caller] = recent
		return recent[0].Add(l.Window).Sub(now), false
	}
	if len(b.callers) >= maxScanCallers {
		for c, ts := range b.callers {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.Window {
				delete(b.callers, c)
			}
		}
	}
	b.callers[caller] = append(recent, now)
	return 0, true
}

// scanCaller names who pays for a scan: the authenticated caller, else
// (auth off) the client's address.
func scanCaller(r *http.Request) string {
	if c, ok := auth.FromContext(r.Context()); ok && c.Name != "" {
		return c.Method + ":" + c.Name
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// admitScan counts a new scan against the caller's budget.
func (s *Server) admitScan(r *http.Request) error {
	l := s.Scans.withDefaults()
	caller := scanCaller(r)
	wait, ok := s.scans.take(caller, l, time.Now())
	if ok {
		return nil
	}
	wait = max(wait.Round(time.Second), time.Second)
	return &fault.Error{Kind: fault.Overloaded, RetryAfter: wait,
		Message: fmt.Sprintf("%s started %d consistency scans in the last %s (consistency.caller_scans per consistency.caller_window): retry after %s; a report is served again for consistency.cache_ttl at no cost",
			caller, l.PerCaller, l.Window, wait)}
}

func (s *Server) consistency(w http.ResponseWriter, r *http.Request) {
	rep, err := s.Engine.ConsistencyFor(r.Context(), r.URL.Query().Get("stack"), func() error { return s.admitScan(r) })
	if err != nil {
		s.fail(w, err)
		return
	}
	s.metrics.drift.WithLabelValues(rep.Stack).Set(float64(len(rep.Drift)))
	writeJSON(w, http.StatusOK, rep)
}
