package server

import (
	"errors"
	"net/http"

	"github.com/shearch/shearch/auth"
)

// authenticate returns r carrying its auth.Caller, or answers 401 (403,
// 413) itself, Chef-style, and returns false. The probes stay open so a
// load balancer needs no credentials.
//
// Chef-signed requests are accepted on the native /v1 API too, not only
// on the Chef-compatible endpoints: the signature proves the caller just
// as well, and scripts that already hold a Chef key need no token.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if open(r.URL.Path) {
		return r.WithContext(auth.WithCaller(r.Context(), auth.Caller{Method: "none"})), true
	}
	c, err := s.Auth.Authenticate(r)
	if err != nil {
		status := http.StatusUnauthorized
		var ae *auth.Error
		if errors.As(err, &ae) {
			status = ae.Status
		}
		writeError(w, status, err.Error())
		return nil, false
	}
	return r.WithContext(auth.WithCaller(r.Context(), c)), true
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
