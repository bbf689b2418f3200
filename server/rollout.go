package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/shards"
)

// MaxLaggingNodes caps the max_lagging a rollout request may ask for.
const MaxLaggingNodes = 100000

// rolloutRoutes adds rollout progress, the environment pin matrix and
// the Chef-compatible cookbook reads.
func (s *Server) rolloutRoutes() {
	s.mux.HandleFunc("GET /v1/rollout/{index}", s.rollout)
	s.mux.HandleFunc("GET /v1/environments/pins", s.pins)
	for _, prefix := range []string{"", "/organizations/{org}"} {
		s.mux.HandleFunc("GET "+prefix+"/cookbooks", s.checkOrg(s.cookbooks))
		s.mux.HandleFunc("GET "+prefix+"/cookbooks/{name}", s.checkOrg(s.cookbook))
	}
}

// rollout answers GET /v1/rollout/{index}?q=&attr=&want=&by=&stale=1h&lagging=true.
func (s *Server) rollout(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseSearch(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v := r.URL.Query()
	rr := facets.RolloutRequest{Request: req, Attr: v.Get("attr"), Want: v.Get("want"), By: v.Get("by"),
		Lagging: v.Get("lagging") == "true"}
	if st := v.Get("stale"); st != "" {
		d, err := time.ParseDuration(st)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("stale=%q: give a positive duration, as 1h or 30m", st))
			return
		}
		rr.StaleAfter = d
	}
	if ml := v.Get("max_lagging"); ml != "" {
		n, err := strconv.Atoi(ml)
		if err != nil || n < 1 || n > MaxLaggingNodes {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("max_lagging=%q: must be an integer from 1 to %d", ml, MaxLaggingNodes))
			return
		}
		rr.MaxLagging = n
	}
	if mv := v.Get("max_values"); mv != "" {
		n, err := strconv.Atoi(mv)
		if err != nil || n < 1 || n > MaxFacetValues {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("max_values=%q: must be an integer from 1 to %d", mv, MaxFacetValues))
			return
		}
		rr.MaxGroups = n
	}
	res, err := facets.Rollout(r.Context(), s.Engine, s.Facets, rr)
	if err != nil {
		s.fail(w, err)
		return
	}
	setShardHeaders(w, res.Shards)
	writeJSON(w, http.StatusOK, res)
}

// pins answers GET /v1/environments/pins?stack=.
func (s *Server) pins(w http.ResponseWriter, r *http.Request) {
	res, err := s.Engine.Pins(r.Context(), r.URL.Query().Get("stack"), deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	setShardHeaders(w, res.ShardsSummary)
	writeJSON(w, http.StatusOK, res)
}

type cookbookVersion struct {
	URL     string `json:"url"`
	Version string `json:"version"`
}

type cookbookEntry struct {
	URL      string            `json:"url"`
	Versions []cookbookVersion `json:"versions"`
}

// numVersions reads Chef's num_versions: "all", or a count; absent is 1
// for /cookbooks and all for /cookbooks/{name}, as Chef Server does.
func numVersions(r *http.Request, dflt int) (int, error) {
	nv := r.URL.Query().Get("num_versions")
	switch nv {
	case "":
		return dflt, nil
	case "all":
		return 0, nil
	}
	n, err := strconv.Atoi(nv)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("num_versions=%q: give all or a non-negative count", nv)
	}
	if n == 0 {
		// Chef answers num_versions=0 with no versions: keep it apart
		// from "all".
		return -1, nil
	}
	return n, nil
}

func (s *Server) cookbookEntry(r *http.Request, name string, vs []string) cookbookEntry {
	base := s.base(r) + "/cookbooks/" + url.PathEscape(name)
	e := cookbookEntry{URL: base, Versions: []cookbookVersion{}}
	for _, v := range vs {
		e.Versions = append(e.Versions, cookbookVersion{URL: base + "/" + url.PathEscape(v), Version: v})
	}
	return e
}

// cookbooks answers Chef's GET /cookbooks?num_versions=N merged over the
// shards: every cookbook on any shard, its newest N versions over all.
func (s *Server) cookbooks(w http.ResponseWriter, r *http.Request) {
	n, err := numVersions(r, 1)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.Engine.Cookbooks(r.Context(), r.URL.Query().Get("stack"), max(n, 0), deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make(map[string]cookbookEntry, len(res.Versions))
	for name, vs := range res.Versions {
		if n < 0 {
			vs = nil
		}
		out[name] = s.cookbookEntry(r, name, vs)
	}
	setShardHeaders(w, res.Shards)
	writeJSON(w, http.StatusOK, out)
}

// cookbook answers Chef's GET /cookbooks/{name}: the cookbook's versions
// over every shard.
func (s *Server) cookbook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := shards.ObjectPath(shards.Cookbooks, name); err != nil {
		s.badRequest(w, err)
		return
	}
	n, err := numVersions(r, 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	vs, sum, err := s.Engine.Cookbook(r.Context(), r.URL.Query().Get("stack"), name, max(n, 0), deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	if n < 0 {
		vs = nil
	}
	setShardHeaders(w, sum)
	writeJSON(w, http.StatusOK, map[string]cookbookEntry{name: s.cookbookEntry(r, name, vs)})
}
