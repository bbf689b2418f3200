package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/shards"
)

// StatusClientClosed is nginx's code for a client that went away before
// its answer: counted apart from 5xx, since nothing failed on our side.
const StatusClientClosed = 499

// begin gives a request its id (the caller's X-Request-Id when sane, else
// a new one), echoes it, and returns the recorder whose finish writes the
// access log line and the metrics.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*statusRecorder, *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(shards.WithRequestID(r.Context(), id))
	return &statusRecorder{ResponseWriter: w, status: http.StatusOK, s: s, r: r, id: id, start: time.Now()}, r
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// route runs the mux and notes what the access log needs from the
// routed request: its pattern and its caller.
func (s *Server) route(rec *statusRecorder, r *http.Request) {
	if c, ok := auth.FromContext(r.Context()); ok {
		rec.caller = c.Name
	}
	s.mux.ServeHTTP(rec, r)
	rec.route = r.Pattern
}

func (rec *statusRecorder) finish() {
	took := time.Since(rec.start)
	route := rec.route
	if route == "" {
		route = "unmatched"
	}
	m := rec.s.metrics
	m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
	if rec.shed {
		m.shed.WithLabelValues(strconv.Itoa(rec.status)).Inc()
	}
	level := slog.LevelInfo
	if probe(rec.r.URL.Path) {
		level = slog.LevelDebug
	}
	rec.s.Log.Log(rec.r.Context(), level, "request", "method", rec.r.Method, "route", route, "path", rec.r.URL.Path,
		"status", rec.status, "duration_ms", took.Milliseconds(), "caller", rec.caller,
		"shards_ok", rec.shardsOK, "shards_failed", rec.shardsFailed, "rows", rec.rows, "request_id", rec.id)
}

// noteShards records the shard outcome of a request for its log line.
func noteShards(w http.ResponseWriter, sum search.ShardsSummary) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.shardsOK, rec.shardsFailed = sum.OK, sum.Failed
	}
}

func noteRows(w http.ResponseWriter, n int) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.rows = n
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int

	s                      *Server
	r                      *http.Request
	id, route, caller      string
	start                  time.Time
	shardsOK, shardsFailed int
	rows                   int
	shed                   bool
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
