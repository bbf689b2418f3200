// Package fakeshard is an in-process Chef API shard for engine unit tests
// and the scale benchmarks. It serves the endpoints Shearch uses (search,
// partial search, object reads, collection lists, cookbooks) from objects
// encoded once, so at 100k nodes the cost measured is Shearch's, not the
// shard's. It does not verify request signatures: it stands for a shard,
// it is not one. Only tests and the bench rig import it.
package fakeshard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/shards"
)

// Options shape a shard.
type Options struct {
	// Org is the organization served under /organizations/ORG (default "fake").
	Org string
	// Latency is added before every answer, to stand for the network.
	Latency time.Duration
	// Cookbooks are name -> versions, for GET cookbooks?num_versions=all.
	Cookbooks map[string][]string
	// Refuse, when set, answers 400 to the queries it returns true for,
	// as goiardi refuses parts of Chef Server's grammar.
	Refuse func(q string) bool
}

// Failure makes every answer fail: with Status, that HTTP status; with
// Close, the connection is closed without an answer.
type Failure struct {
	Status int
	Close  bool
}

// Stats counts the requests a shard received.
type Stats struct {
	Requests int64 // every request
	Searches int64 // search/INDEX, GET or POST
	Gets     int64 // object reads and collection lists
	Bytes    int64 // answer bodies
	// MaxInFlight is the most requests answered at the same time.
	MaxInFlight int64
}

// Shard is one fake Chef server. Add objects, then Start (or serve
// Handler yourself); objects added after the first request are not seen.
type Shard struct {
	opts    Options
	latency atomic.Int64
	failure atomic.Pointer[Failure]

	colls map[string]*collection // index -> objects ("node", "role", ..., or a bag name)
	bags  []string
	ready sync.Once

	requests, searches, gets, bytes, inFlight, maxInFlight atomic.Int64

	logMu sync.Mutex
	log   []string

	srv *httptest.Server
}

// entry is one object, encoded once.
type entry struct {
	name string
	raw  []byte
}

type collection struct {
	index   string
	entries []entry // sorted by name once ready
	byName  map[string]int

	mu       sync.Mutex
	matches  map[string][]int    // query -> matching entries, in name order
	partials map[string][][]byte // query + body -> encoded partial rows of the matches
}

// New makes an empty shard.
func New(o Options) *Shard {
	if o.Org == "" {
		o.Org = "fake"
	}
	s := &Shard{opts: o, colls: map[string]*collection{}}
	s.latency.Store(int64(o.Latency))
	for _, ix := range []string{"node", "role", "environment", "client"} {
		s.colls[ix] = &collection{index: ix}
	}
	return s
}

// FromFixture makes a shard holding a fixture's objects.
func FromFixture(fx *devfleet.Fixture, o Options) (*Shard, error) {
	s := New(o)
	for _, part := range []struct {
		index string
		objs  []devfleet.Object
	}{{"node", fx.Nodes}, {"role", fx.Roles}, {"environment", fx.Environments}, {"client", fx.Clients}} {
		for _, obj := range part.objs {
			if err := s.Add(part.index, obj); err != nil {
				return nil, err
			}
		}
	}
	for bag, items := range fx.DataBags {
		for _, it := range items {
			if err := s.Add(bag, it); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Add encodes one object into an index: node, role, environment, client,
// or a data bag's name (the item as uploaded, with its id).
func (s *Shard) Add(index string, obj map[string]any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("fakeshard: encoding a %s: %v", index, err)
	}
	name, _ := obj["name"].(string)
	if !isBuiltin(index) {
		name, _ = obj["id"].(string)
	}
	return s.AddRaw(index, name, raw)
}

// AddRaw adds an object already encoded as JSON.
func (s *Shard) AddRaw(index, name string, raw []byte) error {
	if name == "" {
		return fmt.Errorf("fakeshard: a %s object without a name", index)
	}
	c, ok := s.colls[index]
	if !ok {
		c = &collection{index: index}
		s.colls[index] = c
		s.bags = append(s.bags, index)
	}
	c.entries = append(c.entries, entry{name: name, raw: raw})
	return nil
}

func isBuiltin(index string) bool {
	switch index {
	case "node", "role", "environment", "client":
		return true
	}
	return false
}

func (s *Shard) prepare() {
	s.ready.Do(func() {
		for _, c := range s.colls {
			sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].name < c.entries[j].name })
			c.byName = make(map[string]int, len(c.entries))
			for i, e := range c.entries {
				c.byName[e.name] = i
			}
		}
		sort.Strings(s.bags)
	})
}

// Start serves the shard on a loopback port.
func (s *Shard) Start() *Shard {
	s.prepare()
	s.srv = httptest.NewServer(s)
	return s
}

// URL is the shard's Chef server URL, organization included.
func (s *Shard) URL() string { return s.srv.URL + "/organizations/" + s.opts.Org }

// Close stops serving; it waits for answers under way.
func (s *Shard) Close() {
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
	}
}

// Config is the shards.Shard that points Shearch at this shard.
func (s *Shard) Config(name, stack, keyPath string) shards.Shard {
	return shards.Shard{Name: name, URL: s.URL(), Stack: stack, ClientName: "bench", ClientKey: keyPath, Source: shards.SourceStatic, Health: shards.HealthUnknown}
}

// SetLatency changes the latency added to every answer.
func (s *Shard) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetFailure makes every later answer fail; nil heals the shard.
func (s *Shard) SetFailure(f *Failure) { s.failure.Store(f) }

// Stats returns the counts since the last ResetStats.
func (s *Shard) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Searches: s.searches.Load(), Gets: s.gets.Load(), Bytes: s.bytes.Load(), MaxInFlight: s.maxInFlight.Load()}
}

// ResetStats zeroes the counts and the request log.
func (s *Shard) ResetStats() {
	s.requests.Store(0)
	s.searches.Store(0)
	s.gets.Store(0)
	s.bytes.Store(0)
	s.maxInFlight.Store(0)
	s.logMu.Lock()
	s.log = nil
	s.logMu.Unlock()
}

// Log is the last requests ("GET /organizations/ORG/search/node?q=..."),
// at most 1,000.
func (s *Shard) Log() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *Shard) record(r *http.Request) {
	s.logMu.Lock()
	if len(s.log) >= 1000 {
		s.log = s.log[1:]
	}
	s.log = append(s.log, r.Method+" "+r.URL.RequestURI())
	s.logMu.Unlock()
}

// counter counts the bytes of an answer.
type counter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c counter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// ServeHTTP answers one Chef API request.
func (s *Shard) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := counter{rw, &s.bytes}
	s.prepare()
	s.requests.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	s.record(r)
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f := s.failure.Load(); f != nil {
		if f.Close {
			if conn, _, err := http.NewResponseController(rw).Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		writeError(w, f.Status, "fakeshard: failing on purpose")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/organizations/"+s.opts.Org+"/")
	if !ok || strings.Contains(rest, "..") {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case parts[0] == "search" && len(parts) == 2 && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.searches.Add(1)
		s.search(w, r, parts[1])
	case r.Method == http.MethodGet:
		s.gets.Add(1)
		s.read(w, r, parts)
	default:
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not served by the fake shard")
	}
}

var collections = map[string]string{"nodes": "node", "roles": "role", "environments": "environment", "clients": "client"}

// read answers object reads and collection lists.
func (s *Shard) read(w http.ResponseWriter, r *http.Request, parts []string) {
	switch {
	case len(parts) == 1 && parts[0] == "cookbooks":
		s.cookbooks(w)
	case len(parts) == 1 && parts[0] == "data":
		names := make(map[string]string, len(s.bags))
		for _, b := range s.bags {
			names[b] = s.URL() + "/data/" + url.PathEscape(b)
		}
		writeJSON(w, names)
	case len(parts) == 1 && collections[parts[0]] != "":
		s.list(w, s.colls[collections[parts[0]]], parts[0])
	case len(parts) == 2 && parts[0] == "data":
		c, ok := s.bag(parts[1])
		if !ok {
			writeError(w, http.StatusNotFound, "Cannot load data bag "+parts[1])
			return
		}
		s.list(w, c, "data/"+parts[1])
	case len(parts) == 2 && collections[parts[0]] != "":
		s.object(w, s.colls[collections[parts[0]]], parts[1])
	case len(parts) == 3 && parts[0] == "data":
		c, ok := s.bag(parts[1])
		if !ok {
			writeError(w, http.StatusNotFound, "Cannot load data bag "+parts[1])
			return
		}
		s.object(w, c, parts[2])
	default:
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}
}

func (s *Shard) bag(name string) (*collection, bool) {
	if isBuiltin(name) {
		return nil, false
	}
	c, ok := s.colls[name]
	return c, ok
}

func (s *Shard) list(w http.ResponseWriter, c *collection, path string) {
	names := make(map[string]string, len(c.entries))
	for _, e := range c.entries {
		names[e.name] = s.URL() + "/" + path + "/" + url.PathEscape(e.name)
	}
	writeJSON(w, names)
}

func (s *Shard) object(w http.ResponseWriter, c *collection, name string) {
	i, ok := c.byName[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Cannot load "+c.index+" "+name)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(c.entries[i].raw)
}

func (s *Shard) cookbooks(w http.ResponseWriter) {
	out := map[string]any{}
	for name, versions := range s.opts.Cookbooks {
		var vs []any
		for _, v := range versions {
			vs = append(vs, map[string]string{"version": v, "url": s.URL() + "/cookbooks/" + name + "/" + v})
		}
		out[name] = map[string]any{"url": s.URL() + "/cookbooks/" + name, "versions": vs}
	}
	writeJSON(w, out)
}

// search answers search/INDEX?q=&start=&rows=, whole objects for a GET
// and partial rows for a POST with a body, in name order.
func (s *Shard) search(w http.ResponseWriter, r *http.Request, index string) {
	c, ok := s.colls[index]
	if !ok {
		writeError(w, http.StatusNotFound, "I don't know how to search for "+index+" data objects.")
		return
	}
	v := r.URL.Query()
	q := v.Get("q")
	if q == "" {
		q = "*:*"
	}
	start, err1 := atoi(v.Get("start"), 0)
	rows, err2 := atoi(v.Get("rows"), shards.DefaultPageSize)
	if err1 != nil || err2 != nil {
		writeError(w, http.StatusBadRequest, "start and rows must be non-negative integers")
		return
	}
	if s.opts.Refuse != nil && s.opts.Refuse(q) {
		writeError(w, http.StatusBadRequest, "invalid search query: '"+q+"'")
		return
	}
	var body map[string][]string
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "partial search body is not a JSON object of key -> path")
			return
		}
	}
	hits, err := c.match(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	total := len(hits)
	if start > len(hits) {
		start = len(hits)
	}
	hits = hits[start:min(len(hits), start+rows)]
	var partial [][]byte
	if body != nil {
		if partial, err = s.partialRows(c, q, hits, start, body); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, `{"total":%d,"start":%d,"rows":[`, total, start)
	for k, i := range hits {
		if k > 0 {
			bw.WriteByte(',')
		}
		switch {
		case body != nil:
			bw.Write(partial[k])
		case isBuiltin(index):
			bw.Write(c.entries[i].raw)
		default:
			// Chef's search row for a data bag item wraps the item.
			id, _ := json.Marshal("data_bag_item_" + index + "_" + c.entries[i].name)
			bag, _ := json.Marshal(index)
			fmt.Fprintf(bw, `{"name":%s,"json_class":"Chef::DataBagItem","chef_type":"data_bag_item","data_bag":%s,"raw_data":`, id, bag)
			bw.Write(c.entries[i].raw)
			bw.WriteByte('}')
		}
	}
	bw.WriteString("]}")
	bw.Flush()
}

func atoi(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]string{"error": {msg}})
}

// decode reads an object back, numbers as json.Number as Shearch reads them.
func decode(raw []byte) (map[string]any, error) {
	var obj map[string]any
	err := shards.DecodeJSON(raw, &obj)
	return obj, err
}
