package server

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/shards"
)

// readRoutes wires the Chef-compatible read endpoints merged over shards,
// with and without the /organizations/{org} prefix. Every shard path is
// built from names taken from r.PathValue (decoded once by net/http) and
// checked by the shards package: a request's path never reaches a shard.
func (s *Server) readRoutes() {
	for _, prefix := range []string{"", "/organizations/{org}"} {
		for _, coll := range []shards.Kind{shards.Nodes, shards.Roles, shards.Environments, shards.Clients, shards.DataBags} {
			s.mux.HandleFunc("GET "+prefix+"/"+string(coll), s.checkOrg(s.list(coll, collection)))
			if coll == shards.DataBags {
				s.mux.HandleFunc("GET "+prefix+"/data/{name}", s.checkOrg(s.list(coll, bagItems)))
			} else {
				s.mux.HandleFunc("GET "+prefix+"/"+string(coll)+"/{name}", s.checkOrg(s.get(coll)))
			}
		}
		s.mux.HandleFunc("GET "+prefix+"/data/{name}/{item}", s.checkOrg(s.get(shards.DataBags)))
		s.mux.HandleFunc("GET "+prefix+"/environments/{name}/nodes", s.checkOrg(s.list(shards.Environments, envNodes)))
		s.mux.HandleFunc("GET "+prefix+"/search", s.checkOrg(s.indexes))
	}
	s.mux.HandleFunc("GET /v1/nodes/{name}", s.locate)
}

// listing is what a list endpoint lists.
type listing int

const (
	collection listing = iota // /nodes
	bagItems                  // /data/{name}
	envNodes                  // /environments/{name}/nodes
)

// listPath builds the shard path of a list endpoint.
func listPath(r *http.Request, kind shards.Kind, what listing) (shards.Path, error) {
	switch what {
	case bagItems:
		return shards.ObjectPath(shards.DataBags, r.PathValue("name"))
	case envNodes:
		return shards.EnvironmentNodesPath(r.PathValue("name"))
	}
	return shards.ObjectPath(kind)
}

// objectPath builds the shard path of one object.
func objectPath(r *http.Request, kind shards.Kind) (shards.Path, error) {
	if kind == shards.DataBags {
		return shards.ObjectPath(kind, r.PathValue("name"), r.PathValue("item"))
	}
	return shards.ObjectPath(kind, r.PathValue("name"))
}

// base is the URL a single Chef server at this address would use for its
// objects, so `knife node list -w` shows Shearch, not a shard.
func (s *Server) base(r *http.Request) string {
	b := strings.TrimSuffix(s.PublicURL, "/")
	if b == "" {
		b = s.requestBase(r)
	}
	if st := scopeOf(r).stack; st != "" {
		// Object URLs lead back to the stack the request named.
		b += stacksPrefix + url.PathEscape(st)
	}
	if org := r.PathValue("org"); org != "" {
		b += "/organizations/" + url.PathEscape(org)
	}
	return b
}

// requestBase is scheme://host as the client reached Shearch. The Host
// and X-Forwarded-Proto headers are whatever the sender wrote, so they
// are believed only from server.trusted_proxies; from anyone else the
// base is the address the connection came in on, which a caller cannot
// make point elsewhere (to poison a cache in between, say).
func (s *Server) requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if s.trustedPeer(r) {
		if r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return scheme + "://" + la.String()
	}
	return scheme + "://" + r.Host
}

func (s *Server) trustedPeer(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	for _, p := range s.TrustedProxies {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

func deny(r *http.Request) bool { return r.URL.Query().Get("partial") == "deny" }

// list answers a collection as Chef does: {"name": "url", ...}. The
// object URLs live under the collection, except for environment nodes.
func (s *Server) list(kind shards.Kind, what listing) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path, err := listPath(r, kind, what)
		if err != nil {
			s.badRequest(w, err)
			return
		}
		res, err := s.Engine.List(r.Context(), r.URL.Query().Get("stack"), path, deny(r))
		if err != nil {
			s.fail(w, err)
			return
		}
		objBase := s.base(r) + "/" + path.String()
		if what == envNodes {
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

func (s *Server) get(kind shards.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path, err := objectPath(r, kind)
		if err != nil {
			s.badRequest(w, err)
			return
		}
		res, err := s.Engine.Get(r.Context(), r.URL.Query().Get("stack"), path, deny(r))
		if err != nil {
			s.fail(w, err)
			return
		}
		setShardHeaders(w, res.Shards)
		writeJSON(w, http.StatusOK, res.Object)
	}
}

// indexes answers GET /search as Chef does: every searchable index, the
// data bags of every shard included, with its URL.
func (s *Server) indexes(w http.ResponseWriter, r *http.Request) {
	res, err := s.Engine.List(r.Context(), r.URL.Query().Get("stack"), shards.CollectionPath(shards.DataBags), deny(r))
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
	path, err := shards.ObjectPath(shards.Nodes, name)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	res, err := s.Engine.Get(r.Context(), r.URL.Query().Get("stack"), path, deny(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	sort.Strings(res.Holders)
	node, err := json.Marshal(res.Object)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Location{Name: name, Shards: nonNil(res.Holders), Kept: res.Kept,
		Duplicates: nonNil(res.Duplicates), Node: node, ShardStatus: res.Shards})
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
