package route53stub

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	namespace  = "https://route53.amazonaws.com/doc/2013-04-01/"
	pathPrefix = "/2013-04-01/hostedzone/"
)

// Server is the stand-in. Its records outlive Close, so a test can stop it to
// simulate an outage and Start it again.
type Server struct {
	st    *store
	reqID atomic.Uint64

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	url  string
	done chan struct{}
}

// New makes a Server holding the given zones; nothing listens until Start.
func New(opts Options) *Server {
	return &Server{st: newStore(opts)}
}

// Start listens on addr (127.0.0.1:0 when empty) and returns the base URL to
// use as the SDK's BaseEndpoint.
func (s *Server) Start(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("route53stub: already started at " + s.url)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("route53stub: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return s.url, nil
}

// URL is the base URL of the running server, or "" when stopped.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.url
}

// Addr is the listening address of the running server, or "" when stopped.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops listening and drops open connections, so clients see the
// connection refusals of a real outage rather than slow answers.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-done
	return err
}

// AddZone creates an empty hosted zone; an existing zone is left alone.
func (s *Server) AddZone(id string) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if _, ok := s.st.zones[cleanZoneID(id)]; !ok {
		s.st.zones[cleanZoneID(id)] = nil
	}
}

// SetPageSize changes the server-side page cap (0 or less: none).
func (s *Server) SetPageSize(n int) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.pageSize = n
}

// Upsert creates or replaces the record with r's name, type and set
// identifier, with the same checks as the API's UPSERT.
func (s *Server) Upsert(zone string, r Record) error {
	return s.change(zone, change{action: "UPSERT", record: r})
}

// Delete removes the record with that name, type and set identifier.
func (s *Server) Delete(zone, name, typ, setIdentifier string) error {
	return s.change(zone, change{action: "DELETE", record: Record{Name: name, Type: typ, SetIdentifier: setIdentifier, Target: "-"}})
}

func (s *Server) change(zone string, c change) error {
	problems, err := s.st.apply(zone, []change{c})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Records lists a zone in Route53's order (nil for an unknown zone).
func (s *Server) Records(zone string) []Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return append([]Record(nil), s.st.zones[cleanZoneID(zone)]...)
}

// ListCalls counts ListResourceRecordSets requests answered, so tests can
// prove a client really paged.
func (s *Server) ListCalls() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.lists
}

// Handler serves the API; usable without Start, e.g. under httptest.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, pathPrefix)
	zone, op, _ := strings.Cut(rest, "/")
	if !ok || zone == "" || strings.TrimSuffix(op, "/") != "rrset" {
		s.writeError(w, http.StatusNotFound, "UnknownOperationException", "The operation "+r.Method+" "+r.URL.Path+" is not supported by this Route53 stand-in")
		return
	}
	// Route53 refuses unsigned requests; so does the stand-in, so a client
	// misconfigured without credentials fails here as it would in AWS.
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.writeError(w, http.StatusForbidden, "MissingAuthenticationToken", "Missing Authentication Token")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.listRecordSets(w, r, zone)
	case http.MethodPost:
		s.changeRecordSets(w, r, zone)
	default:
		s.writeError(w, http.StatusMethodNotAllowed, "InvalidAction", "Method "+r.Method+" not allowed on rrset")
	}
}

type xmlRecordSet struct {
	Name            string     `xml:"Name"`
	Type            string     `xml:"Type"`
	SetIdentifier   string     `xml:"SetIdentifier,omitempty"`
	Weight          *int64     `xml:"Weight,omitempty"`
	TTL             *int64     `xml:"TTL,omitempty"`
	ResourceRecords []xmlValue `xml:"ResourceRecords>ResourceRecord"`
}

type xmlValue struct {
	Value string `xml:"Value"`
}

type listResponse struct {
	XMLName              xml.Name       `xml:"ListResourceRecordSetsResponse"`
	Xmlns                string         `xml:"xmlns,attr"`
	ResourceRecordSets   []xmlRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool           `xml:"IsTruncated"`
	NextRecordName       string         `xml:"NextRecordName,omitempty"`
	NextRecordType       string         `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string         `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             string         `xml:"MaxItems"`
}

func toXML(r Record) xmlRecordSet {
	ttl := r.TTL
	x := xmlRecordSet{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, TTL: &ttl,
		ResourceRecords: []xmlValue{{Value: r.Target}}}
	if r.SetIdentifier != "" {
		w := r.Weight
		x.Weight = &w
	}
	return x
}

func (s *Server) listRecordSets(w http.ResponseWriter, r *http.Request, zone string) {
	q := r.URL.Query()
	lq := listQuery{name: q.Get("name"), typ: strings.ToUpper(q.Get("type")), identifier: q.Get("identifier")}
	if lq.typ != "" && lq.name == "" {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "The input is not valid: type given without name")
		return
	}
	if lq.identifier != "" && lq.typ == "" {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "The input is not valid: identifier given without type")
		return
	}
	if lq.typ != "" && !knownTypes[lq.typ] {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "Invalid type: "+lq.typ)
		return
	}
	if m := q.Get("maxitems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 {
			s.writeError(w, http.StatusBadRequest, "InvalidInput", "Invalid maxitems: "+m)
			return
		}
		lq.maxItems = n
	}
	page, err := s.st.list(zone, lq)
	if err != nil {
		s.writeError(w, http.StatusNotFound, "NoSuchHostedZone", err.Error())
		return
	}
	resp := listResponse{Xmlns: namespace, IsTruncated: page.truncated, MaxItems: strconv.Itoa(page.maxItems),
		ResourceRecordSets: []xmlRecordSet{}}
	for _, rec := range page.records {
		resp.ResourceRecordSets = append(resp.ResourceRecordSets, toXML(rec))
	}
	if page.truncated {
		resp.NextRecordName, resp.NextRecordType, resp.NextRecordIdentifier = page.next.Name, page.next.Type, page.next.SetIdentifier
	}
	s.writeXML(w, http.StatusOK, resp)
}

type changeRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string `xml:"Comment"`
		Changes []struct {
			Action            string       `xml:"Action"`
			ResourceRecordSet xmlRecordSet `xml:"ResourceRecordSet"`
		} `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type changeResponse struct {
	XMLName    xml.Name `xml:"ChangeResourceRecordSetsResponse"`
	Xmlns      string   `xml:"xmlns,attr"`
	ChangeInfo struct {
		ID          string `xml:"Id"`
		Status      string `xml:"Status"`
		SubmittedAt string `xml:"SubmittedAt"`
		Comment     string `xml:"Comment,omitempty"`
	} `xml:"ChangeInfo"`
}

type invalidChangeBatch struct {
	XMLName   xml.Name `xml:"InvalidChangeBatch"`
	Xmlns     string   `xml:"xmlns,attr"`
	Messages  []string `xml:"Messages>Message"`
	RequestID string   `xml:"RequestId"`
}

func (s *Server) changeRecordSets(w http.ResponseWriter, r *http.Request, zone string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "cannot read request body: "+err.Error())
		return
	}
	var req changeRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "malformed ChangeResourceRecordSetsRequest: "+err.Error())
		return
	}
	if len(req.ChangeBatch.Changes) == 0 {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "The input is not valid: ChangeBatch has no changes")
		return
	}
	var batch []change
	var problems []string
	for _, c := range req.ChangeBatch.Changes {
		x := c.ResourceRecordSet
		rec := Record{Name: x.Name, Type: x.Type, SetIdentifier: x.SetIdentifier}
		if x.TTL != nil {
			rec.TTL = *x.TTL
		}
		if x.SetIdentifier != "" {
			if x.Weight == nil {
				problems = append(problems, "Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, CidrRoutingConfig], but found none in Change with [Action="+c.Action+", Name="+x.Name+", Type="+x.Type+", SetIdentifier="+x.SetIdentifier+"]")
				continue
			}
			rec.Weight = *x.Weight
		}
		if len(x.ResourceRecords) != 1 {
			problems = append(problems, fmt.Sprintf("this stand-in holds exactly one value per record set; %s has %d", x.Name, len(x.ResourceRecords)))
			continue
		}
		rec.Target = x.ResourceRecords[0].Value
		batch = append(batch, change{action: c.Action, record: rec, exact: true})
	}
	if len(problems) == 0 {
		problems, err = s.st.apply(zone, batch)
		if err != nil {
			s.writeError(w, http.StatusNotFound, "NoSuchHostedZone", err.Error())
			return
		}
	}
	if len(problems) > 0 {
		s.writeXML(w, http.StatusBadRequest, invalidChangeBatch{Xmlns: namespace, Messages: problems, RequestID: s.requestID()})
		return
	}
	var resp changeResponse
	resp.Xmlns = namespace
	resp.ChangeInfo.ID = fmt.Sprintf("/change/C%012d", s.reqID.Add(1))
	// Changes apply at once here, so INSYNC is the truth; Route53 itself
	// would say PENDING for a while.
	resp.ChangeInfo.Status = "INSYNC"
	resp.ChangeInfo.SubmittedAt = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	resp.ChangeInfo.Comment = req.ChangeBatch.Comment
	s.writeXML(w, http.StatusOK, resp)
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, msg string) {
	var e errorResponse
	e.Xmlns = namespace
	e.Error.Type = "Sender"
	e.Error.Code = code
	e.Error.Message = msg
	e.RequestID = s.requestID()
	s.writeXML(w, status, e)
}

func (s *Server) requestID() string {
	return fmt.Sprintf("stub-%08d", s.reqID.Add(1))
}

func (s *Server) writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", s.requestID())
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(out)
}

// Shutdown is Close with a deadline for in-flight requests, for callers that
// want a graceful stop (e.g. `shearch dev` on Ctrl-C).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	<-done
	return err
}
