package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// Defaults of the request bounds (config: search.max_query_bytes,
// server.max_body_bytes).
const (
	DefaultMaxQueryBytes = 16 << 10
	DefaultMaxBodyBytes  = 1 << 20
)

// Limits bounds what a caller may send.
type Limits struct {
	// MaxQueryBytes bounds q (search.max_query_bytes).
	MaxQueryBytes int
	// MaxBodyBytes bounds a request body (server.max_body_bytes).
	MaxBodyBytes int64
	// WriteTimeout is the server's write timeout; an NDJSON stream moves
	// its deadline forward by this much at each flush, so a long stream
	// is bounded per write, not as a whole.
	WriteTimeout time.Duration
}

func (l Limits) maxQuery() int {
	if l.MaxQueryBytes > 0 {
		return l.MaxQueryBytes
	}
	return DefaultMaxQueryBytes
}

func (l Limits) maxBody() int64 {
	if l.MaxBodyBytes > 0 {
		return l.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// limitBody bounds every request body before anything reads it.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, s.Limits.maxBody())
	}
}

func (s *Server) checkQuery(q string) error {
	if max := s.Limits.maxQuery(); len(q) > max {
		return &fault.Error{Kind: fault.BadRequest,
			Message: fmt.Sprintf("the query is %d bytes, over the %s limit (search.max_query_bytes): narrow it", len(q), shards.FormatBytes(int64(max)))}
	}
	return nil
}

// bodyError turns a read of a too-large body into a 413.
func (s *Server) bodyError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &fault.Error{Kind: fault.TooLarge,
			Message: fmt.Sprintf("request body over the %s limit (server.max_body_bytes)", shards.FormatBytes(mb.Limit))}
	}
	return nil
}

// badRequest answers a request Shearch refuses before asking any shard:
// its own status when it carries one, else 400.
func (s *Server) badRequest(w http.ResponseWriter, err error) {
	var fe *fault.Error
	if errors.As(err, &fe) {
		writeError(w, statusOf(err), fe.Message)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// checkOrg refuses an organization name Chef Server would refuse. Shearch
// never forwards it, but a request naming a bad one is a bad request.
func (s *Server) checkOrg(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Pattern, "{org}") {
			if err := shards.CheckOrg(r.PathValue("org")); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		h(w, r)
	}
}

// extendWrite moves the write deadline of a long answer forward.
func (s *Server) extendWrite(w http.ResponseWriter) {
	if s.Limits.WriteTimeout > 0 {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.Limits.WriteTimeout))
	}
}
