package server

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// readRoutes wires the Chef-compatible read endpoints merged over shards,
// with and without the /organizations/{org} prefix.
func (s *Server) readRoutes() {
	for _, prefix := range []string{"", "/organizations/{org}"} {
		for _, coll := range []string{"nodes", "roles", "environments", "clients", "data"} {
			s.mux.HandleFunc("GET "+prefix+"/"+coll, s.list(coll))
			s.mux.HandleFunc("GET "+prefix+"/"+coll+"/{name}", s.getOrList(coll))
		}
		s.mux.HandleFunc("GET "+prefix+"/data/{name}/{item}", s.get)
		s.mux.HandleFunc("GET "+prefix+"/environments/{name}/nodes", s.list("environments/{name}/nodes"))
		s.mux.HandleFunc("GET "+prefix+"/search", s.indexes)
	}
	s.mux.HandleFunc("GET /v1/nodes/{name}", s.locate)
}

// base is the URL a single Chef server at this address would use for its
// objects, so `knife node list -w` shows Shearch, not a shard.
func (s *Server) base(r *http.Request) string {
	b := strings.TrimSuffix(s.PublicURL, "/")
	if b == "" {
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		b = scheme + "://" + r.Host
	}
	if org := r.PathValue("org"); org != "" {
		b += "/organizations/" + url.PathEscape(org)
	}
	return b
}

func deny(r *http.Request) bool { return r.URL.Query().Get("partial") == "deny" }

// list answers a collection as Chef does: {"name": "url", ...}. The
// object URLs live under the collection, except for environment nodes.
func (s *Server) list(pattern string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := strings.ReplaceAll(pattern, "{name}", url.PathEscape(r.PathValue("name")))
		res, err := s.Engine.List(r.Context(), r.URL.Query().Get("stack"), path, deny(r))
		if err != nil {
			s.fail(w, err)
			return
		}
		objBase := s.base(r) + "/" + path
		if strings.HasSuffix(path, "/nodes") {
			objBase = s.base(r) + "/nodes"
		}
		out := make(map[string]string, len(res.Names))
		for name := range res.Names {
			out[name] = objBase + "/" + url.PathEscape(name)
		}
		setShardHeaders(w, res.Shards)
		writeJSON(w, http.StatusOK, out)
	}
}

// getOrList: /data/{bag} is a collection, the other /{coll}/{name} are
// objects.
func (s *Server) getOrList(coll string) http.HandlerFunc {
	if coll == "data" {
		return s.list("data/{name}")
	}
	return s.get
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if org := r.PathValue("org"); org != "" {
		path = strings.TrimPrefix(path, "organizations/"+url.PathEscape(org)+"/")
	}
	res, err := s.Engine.Get(r.Context(), r.URL.Query().Get("stack"), path, deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	setShardHeaders(w, res.Shards)
	writeJSON(w, http.StatusOK, res.Object)
}

// indexes answers GET /search as Chef does: every searchable index, the
// data bags of every shard included, with its URL.
func (s *Server) indexes(w http.ResponseWriter, r *http.Request) {
	res, err := s.Engine.List(r.Context(), r.URL.Query().Get("stack"), "data", deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	out := map[string]string{}
	for _, idx := range []string{"node", "role", "client", "environment"} {
		out[idx] = s.base(r) + "/search/" + idx
	}
	for bag := range res.Names {
		out[bag] = s.base(r) + "/search/" + url.PathEscape(bag)
	}
	writeJSON(w, http.StatusOK, out)
}

// locate answers which shards hold a node, and the copy that wins.
func (s *Server) locate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := s.Engine.Get(r.Context(), r.URL.Query().Get("stack"), "nodes/"+url.PathEscape(name), deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	sort.Strings(res.Holders)
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "shards": res.Holders, "kept": res.Kept,
		"duplicates": nonNil(res.Duplicates), "node": res.Object, "shard_status": res.Shards})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func headerCount(ok, total int) string {
	return strconv.Itoa(ok) + "/" + strconv.Itoa(total)
}
