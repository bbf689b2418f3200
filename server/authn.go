package server

import (
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/shards"
)

// authenticate returns r carrying its auth.Caller, or answers 401 (403,
// 413) itself, Chef-style, and returns false. The probes stay open so a
// load balancer needs no credentials.
//
// Chef-signed requests are accepted on the native /v1 API too, not only
// on the Chef-compatible endpoints: the signature proves the caller just
// as well, and scripts that already hold a Chef key need no token.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if s.open(r.URL.Path) || uiAsset(r) {
		return r.WithContext(auth.WithCaller(r.Context(), auth.Caller{Method: "none"})), true
	}
	c, err := s.Auth.Authenticate(r)
	if err != nil {
		s.refuse(w, r, err)
		return nil, false
	}
	return r.WithContext(auth.WithCaller(r.Context(), c)), true
}

// refuse answers an auth failure with its public message and logs the
// precise reason, which the answer leaves out, under the request id.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status, reason := http.StatusUnauthorized, err.Error()
	var ae *auth.Error
	if errors.As(err, &ae) {
		status, reason = ae.Status, ae.LogReason()
	}
	s.Log.Warn("authentication failed", "request_id", shards.RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
		"claimed", r.Header.Get("X-Ops-Userid"), "remote", r.RemoteAddr, "status", status, "reason", reason)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	writeError(w, status, err.Error())
}

// requireWrite answers 403, Chef-style, and returns false unless the
// request's caller has write scope. Every write handler calls it first.
func requireWrite(w http.ResponseWriter, r *http.Request) bool {
	if err := auth.RequireWrite(r.Context()); err != nil {
		status := http.StatusForbidden
		var ae *auth.Error
		if errors.As(err, &ae) {
			status = ae.Status
		}
		writeError(w, status, err.Error())
		return false
	}
	return true
}

// uiAsset is the /ui/ page and its static files: they hold no fleet data
// (the page asks the /v1 API, with the caller's token, for everything),
// and the page is where a person types that token. Only clean GET paths
// qualify, so nothing that the mux would redirect elsewhere is let
// through unauthenticated.
func uiAsset(r *http.Request) bool {
	p := r.URL.Path
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if p != "/ui" && !strings.HasPrefix(p, "/ui/") {
		return false
	}
	return path.Clean(p) == strings.TrimSuffix(p, "/") || p == "/ui/"
}
