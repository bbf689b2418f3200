// Package server is Shearch's HTTP front: the native /v1 API and the
// Chef-compatible endpoints, both backed by the federated engine.
package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/search/result"
	"github.com/shearch/shearch/shards"
)

// Server serves the API.
type Server struct {
	Engine Engine
	Log    *slog.Logger
	// Auth says who sends each request; nil (or one with nothing
	// configured) lets everyone read and no one write.
	Auth *auth.Authenticator
	// Topology gives /v1/shards its body; nil answers with the engine's
	// shard list.
	Topology func() any
	// PublicURL is the base of object URLs in answers (Chef's
	// chef_server_url behind a proxy); empty uses the request's host.
	PublicURL string
	// Limits bound what a caller may send (limits.go).
	Limits Limits
	// TrustedProxies are the peers whose Host and X-Forwarded-Proto
	// headers make the URLs in answers when PublicURL is empty
	// (server.trusted_proxies); anyone else's are ignored.
	TrustedProxies []netip.Prefix
	// MetricsAuth is server.metrics_auth: "token" makes /metrics need
	// credentials like the API; "" or "none" leaves it open to scrapers.
	MetricsAuth string
	// Scans bound the drift scans a caller may start (consistency.go).
	Scans ScanLimits
	// Facets bounds facet and rollout answers (search.max_facet_bytes,
	// search.rollout_*).
	Facets facets.Config
	scans  scanBudget

	mux      *http.ServeMux
	metrics  *metrics
	draining atomic.Bool
}

// Drain makes /readyz answer 503 so load balancers stop sending new
// requests while in-flight ones finish.
func (s *Server) Drain() { s.draining.Store(true) }

// New wires the routes, with metrics in a registry of the server's own
// that also holds the engine's collectors: for an engine made without a
// Registerer (tests, one server per engine).
func New(e Engine, log *slog.Logger) *Server {
	return newServer(e, log, nil)
}

// NewWithRegistry wires the routes, with the server's metrics on reg,
// where the engine registered its own (search.Deps.Registerer): /metrics
// serves reg.
func NewWithRegistry(e Engine, log *slog.Logger, reg *prometheus.Registry) *Server {
	return newServer(e, log, reg)
}

func newServer(e Engine, log *slog.Logger, reg *prometheus.Registry) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s := &Server{Engine: e, Log: log, mux: http.NewServeMux(), metrics: newMetrics(e, reg)}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("GET /metrics", s.metrics.serve)
	m.HandleFunc("GET /v1/search/{index}", s.nativeSearch)
	m.HandleFunc("POST /v1/search/{index}", s.nativeSearch)
	m.HandleFunc("GET /v1/shards", s.shardsHandler)
	m.HandleFunc("GET /v1/consistency", s.consistency)
	for _, prefix := range []string{"", "/organizations/{org}"} {
		m.HandleFunc("GET "+prefix+"/search/{index}", s.checkOrg(s.chefSearch))
		m.HandleFunc("POST "+prefix+"/search/{index}", s.checkOrg(s.chefSearch))
	}
	s.readRoutes()
	s.writeRoutes()
	s.reportRoutes()
}

// ServeHTTP authenticates the caller (see authn.go), then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec, r := s.begin(w, r)
	defer rec.finish()
	w = rec
	s.limitBody(w, r)
	if refuseUncleanPath(w, r) {
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") && !probe(r.URL.Path) {
		// Chef clients (knife's ServerAPIVersions) negotiate the API
		// version from this header; Shearch answers as API version 1.
		asked := r.Header.Get("X-Ops-Server-API-Version")
		if asked == "" {
			asked = "0"
		}
		answered := asked
		if n, err := strconv.Atoi(asked); err != nil || n > 1 || n < 0 {
			answered = "1"
		}
		w.Header().Set("X-Ops-Server-API-Version", fmt.Sprintf(`{"min_version":"0","max_version":"1","request_version":%q,"response_version":%q}`, asked, answered))
	}
	// From here r carries its auth.Caller, for the handlers and the log.
	if ar, ok := s.authenticate(rec, r); ok {
		if sr, ok := s.scope(rec, ar); ok {
			s.route(rec, sr)
		}
	}
}

// probe is a load balancer's or scraper's path: logged at debug level.
func probe(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// open says whether path is answered without credentials: the probes
// always, /metrics unless server.metrics_auth is token.
func (s *Server) open(path string) bool {
	if path == "/metrics" {
		return s.MetricsAuth != "token"
	}
	return path == "/healthz" || path == "/readyz"
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, http.StatusServiceUnavailable, "draining: shutting down, send new requests elsewhere")
		return
	}
	if len(s.Engine.Shards("all")) == 0 {
		writeError(w, http.StatusServiceUnavailable, "no shards known yet")
		return
	}
	if !s.Engine.Reachable("") {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("no shard of stack %s is reachable: see GET /v1/shards", s.Engine.Stack("")))
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) shardsHandler(w http.ResponseWriter, r *http.Request) {
	if s.Topology != nil {
		writeJSON(w, http.StatusOK, redactTopology(s.Topology()))
		return
	}
	all := s.Engine.Shards("all")
	out := make([]shards.Shard, len(all))
	for i, sh := range all {
		sh.URL = RedactURL(sh.URL)
		out[i] = sh
	}
	writeJSON(w, http.StatusOK, map[string]any{"shards": out})
}

// parseSearch reads a search request the way Chef Server does: a missing
// q is *:*, an empty one is a 400, start and rows are non-negative
// integers. For the Chef-compatible endpoints q is URL-decoded once more,
// as Chef Server does (knife leaves some characters unencoded); the native
// API takes q as sent.
func (s *Server) parseSearch(r *http.Request, chef bool) (search.Request, error) {
	v := r.URL.Query()
	req := search.Request{Index: r.PathValue("index"), Stack: v.Get("stack")}
	if qs, ok := v["q"]; ok {
		if qs[0] == "" {
			return req, errors.New("the q parameter is empty: give a query such as *:* or role:web")
		}
		if err := s.checkQuery(qs[0]); err != nil {
			return req, err
		}
		req.Query = qs[0]
		if chef {
			if q, err := url.PathUnescape(qs[0]); err == nil {
				req.Query = q
			}
		}
	} else {
		req.Query = "*:*"
	}
	var err error
	if req.Start, err = nonNegative(v, "start"); err != nil {
		return req, err
	}
	if req.Rows, err = nonNegative(v, "rows"); err != nil {
		return req, err
	}
	req.Cursor = v.Get("cursor")
	req.Order = v.Get("order")
	if sh := v.Get("shards"); sh != "" {
		req.Shards = strings.Split(sh, ",")
	}
	switch p := v.Get("partial"); p {
	case "", "allow":
	case "deny":
		req.PartialDeny = true
	default:
		return req, fmt.Errorf("partial=%s: use allow or deny", p)
	}
	if r.Method == http.MethodPost {
		body := map[string][]string{}
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&body); err != nil {
			if berr := s.bodyError(err); berr != nil {
				return req, berr
			}
			return req, fmt.Errorf("partial search body must be a JSON object of key -> [attribute path]: %v", err)
		}
		req.Partial = body
	}
	return req, nil
}

func nonNegative(v url.Values, key string) (int, error) {
	s := v.Get(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: must be a non-negative integer", key, s)
	}
	return n, nil
}

func (s *Server) nativeSearch(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseSearch(r, false)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/x-ndjson") {
		s.stream(w, r, req)
		return
	}
	if req.Order != "" && req.Order != search.OrderName {
		writeError(w, http.StatusBadRequest, "order="+req.Order+" is for streams only: send Accept: application/x-ndjson, or leave order out")
		return
	}
	res, err := s.Engine.Search(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	shardHeaders(w, res)
	noteRows(w, len(res.Rows))
	writeResult(w, http.StatusOK, res)
}

// stream writes one row a line as rows merge, then a summary line
// {"summary": {...}}. Errors before the first row are ordinary HTTP
// errors; after it, an {"error": [...]} line ends the stream.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req search.Request) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	flusher, _ := w.(http.Flusher)
	s.extendWrite(w)
	started := false
	n := 0
	var line []byte
	res, err := s.Engine.Stream(r.Context(), req, func(sum search.ShardsSummary) { setShardHeaders(w, sum) }, func(row search.Row) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		line = append(result.AppendRow(line[:0], row), '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
		if n++; n%100 == 0 && flusher != nil {
			flusher.Flush()
			s.extendWrite(w)
		}
		return nil
	})
	if err != nil && !started {
		s.fail(w, err)
		return
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	noteRows(w, n)
	if err != nil {
		enc.Encode(map[string]any{"error": []string{err.Error()}})
		return
	}
	enc.Encode(map[string]any{"summary": res})
}

// chefSearch answers exactly as a Chef server: {"total","start","rows"},
// partial rows as {"url","data"}.
func (s *Server) chefSearch(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseSearch(r, true)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	res, err := s.Engine.Search(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	shardHeaders(w, res)
	noteRows(w, len(res.Rows))
	writeChefRows(w, res, func(row search.Row) string {
		if req.Partial == nil {
			return ""
		}
		return s.objectURL(r, req.Index, row.Name)
	})
}

// writeChefRows writes {"rows":[..],"start":N,"total":N} (the keys in the
// order encoding/json gave them) with each object copied as the shard
// sent it: re-encoding a page of whole nodes through reflection cost more
// than fetching it. A partial row, given a URL, is {"data":..,"url":..}.
func writeChefRows(w http.ResponseWriter, res *search.Result, urlOf func(search.Row) string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	b := append(make([]byte, 0, 64<<10), `{"rows":[`...)
	for i, row := range res.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		if u := urlOf(row); u != "" {
			b = append(b, `{"data":`...)
			b = result.AppendRawJSON(b, row.Data)
			b = append(b, `,"url":`...)
			b = result.AppendJSONString(b, u)
			b = append(b, '}')
		} else {
			b = result.AppendRawJSON(b, row.Data)
		}
		if len(b) >= 64<<10 {
			if _, err := w.Write(b); err != nil {
				return
			}
			b = b[:0]
		}
	}
	b = fmt.Appendf(b, `],"start":%d,"total":%d}`+"\n", res.Start, res.Total)
	w.Write(b)
}

// objectURL is where one Chef server would say a search row lives: the
// object under Shearch, not under the shard that answered.
func (s *Server) objectURL(r *http.Request, index, name string) string {
	coll := map[string]string{"node": "nodes", "role": "roles", "client": "clients", "environment": "environments"}[index]
	if coll == "" {
		coll = "data/" + url.PathEscape(index)
		name = strings.TrimPrefix(name, "data_bag_item_"+index+"_")
	}
	return s.base(r) + "/" + coll + "/" + url.PathEscape(name)
}

func shardHeaders(w http.ResponseWriter, res *search.Result) {
	setShardHeaders(w, res.Shards)
}

// setShardHeaders says how many shards answered, which failed, and why
// (X-Shearch-Errors: a JSON object shard -> error, for clients that warn).
func setShardHeaders(w http.ResponseWriter, s search.ShardsSummary) {
	noteShards(w, s)
	w.Header().Set("X-Shearch-Shards", headerCount(s.OK, s.Total))
	failed := s.FailedNames()
	if len(failed) == 0 {
		return
	}
	w.Header().Set("X-Shearch-Failed", strings.Join(failed, ","))
	why := map[string]string{}
	for _, d := range s.Details {
		if d.Status != search.StatusOK {
			why[d.Name] = d.Error
		}
	}
	b, _ := json.Marshal(why)
	w.Header().Set("X-Shearch-Errors", string(b))
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	status := statusOf(err)
	var fe *fault.Error
	if errors.As(err, &fe) {
		if fe.Shards != nil {
			setShardHeaders(w, *fe.Shards)
		}
		if fe.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((fe.RetryAfter+time.Second-1)/time.Second)))
			if rec, ok := w.(*statusRecorder); ok {
				rec.shed = true
			}
		}
		writeError(w, status, fe.Message)
		return
	}
	if status == http.StatusInternalServerError {
		// A client leaving or a deadline is in the access log line, and
		// no error of ours.
		s.Log.Error("request failed", "err", err)
	}
	writeError(w, status, err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeError answers as Chef does: {"error": ["message"]}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": []string{msg}})
}
