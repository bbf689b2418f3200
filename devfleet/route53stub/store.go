// Package route53stub is a stand-in for Amazon Route53 that speaks enough of
// its REST-XML API (ListResourceRecordSets, ChangeResourceRecordSets) for the
// real aws-sdk-go-v2 client to discover a weighted record set from it. It
// exists so that tests and `shearch dev` exercise the same code path as
// production, paging and error shapes included.
package route53stub

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// MaxPageSize is Route53's hard limit on records in one ListResourceRecordSets
// page; asking for more silently yields this many.
const MaxPageSize = 300

// Record is one resource record set holding a single value. Weighted records
// have a SetIdentifier; Weight is only meaningful (and only sent) for those.
type Record struct {
	Name          string
	Type          string
	SetIdentifier string
	Weight        int64
	// Target is the record's value: a host name for CNAME, an address for A.
	// It is stored verbatim so tests can plant bad data.
	Target string
	TTL    int64
}

// Options shape a Server.
type Options struct {
	// Zones are hosted zone IDs that exist from the start.
	Zones []string
	// PageSize, when positive, caps every ListResourceRecordSets page whatever
	// maxitems the client asked for, so tests can force paging with a client
	// that always asks for the maximum.
	PageSize int
}

type store struct {
	mu       sync.Mutex
	zones    map[string][]Record // kept in Route53's listing order
	pageSize int
	changes  int
	lists    int
}

func newStore(opts Options) *store {
	s := &store{zones: map[string][]Record{}, pageSize: opts.PageSize}
	for _, z := range opts.Zones {
		s.zones[cleanZoneID(z)] = nil
	}
	return s
}

// cleanZoneID accepts both "Z123" and the "/hostedzone/Z123" form Route53
// itself hands out.
func cleanZoneID(id string) string {
	return strings.TrimPrefix(id, "/hostedzone/")
}

// canonicalName is how Route53 stores names: lower case, fully qualified.
func canonicalName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// sortKey orders names the way Route53 does: labels reversed, trailing dot
// kept (www.example.com. sorts as com.example.www.).
func sortKey(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "."
}

// compareRecord orders by name (reversed labels), then type, then set
// identifier, which is the order ListResourceRecordSets pages through.
func compareRecord(a, b Record) int {
	if c := strings.Compare(sortKey(a.Name), sortKey(b.Name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.SetIdentifier, b.SetIdentifier)
}

func sameKey(a, b Record) bool {
	return a.Name == b.Name && a.Type == b.Type && a.SetIdentifier == b.SetIdentifier
}

func normalize(r Record) Record {
	r.Name = canonicalName(r.Name)
	r.Type = strings.ToUpper(r.Type)
	if r.SetIdentifier == "" {
		r.Weight = 0
	}
	return r
}

func describe(r Record) string {
	if r.SetIdentifier == "" {
		return fmt.Sprintf("[name='%s', type='%s']", r.Name, r.Type)
	}
	return fmt.Sprintf("[name='%s', type='%s', set-identifier='%s']", r.Name, r.Type, r.SetIdentifier)
}

var knownTypes = map[string]bool{
	"SOA": true, "A": true, "TXT": true, "NS": true, "CNAME": true, "MX": true, "NAPTR": true,
	"PTR": true, "SRV": true, "SPF": true, "AAAA": true, "CAA": true, "DS": true, "TLSA": true,
	"SSHFP": true, "SVCB": true, "HTTPS": true,
}

// validate applies the checks Route53 makes on a record set regardless of
// what else is in the zone.
func validate(r Record) error {
	if r.Name == "." || strings.Contains(r.Name, "..") {
		return fmt.Errorf("Invalid Resource Record Set name %q", r.Name)
	}
	if !knownTypes[r.Type] {
		return fmt.Errorf("Invalid type %q for resource record set %s", r.Type, describe(r))
	}
	if r.SetIdentifier != "" && (r.Weight < 0 || r.Weight > 255) {
		return fmt.Errorf("Invalid weight %d for %s: weights are 0 to 255", r.Weight, describe(r))
	}
	if r.Target == "" {
		return fmt.Errorf("Invalid Resource Record: empty value for %s", describe(r))
	}
	return nil
}

type change struct {
	action string // CREATE, DELETE, UPSERT
	record Record
	// exact asks DELETE to match every value, as the API does; the Go helper
	// deletes by key only.
	exact bool
}

// apply runs a change batch atomically: either every change is valid against
// the zone as the earlier changes left it, or nothing changes.
func (s *store) apply(zone string, batch []change) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, ok := s.zones[cleanZoneID(zone)]
	if !ok {
		return nil, errNoSuchZone(zone)
	}
	work := append([]Record(nil), recs...)
	var problems []string
	for _, c := range batch {
		r := normalize(c.record)
		if err := validate(r); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		i := sort.Search(len(work), func(i int) bool { return compareRecord(work[i], r) >= 0 })
		found := i < len(work) && sameKey(work[i], r)
		switch c.action {
		case "CREATE", "UPSERT":
			if found && c.action == "CREATE" {
				problems = append(problems, fmt.Sprintf("Tried to create resource record set %s but it already exists", describe(r)))
				continue
			}
			if msg := mixConflict(work, r); msg != "" {
				problems = append(problems, msg)
				continue
			}
			if found {
				work[i] = r
			} else {
				work = append(work[:i], append([]Record{r}, work[i:]...)...)
			}
		case "DELETE":
			if !found {
				problems = append(problems, fmt.Sprintf("Tried to delete resource record set %s but it was not found", describe(r)))
				continue
			}
			if c.exact && (work[i].Target != r.Target || work[i].TTL != r.TTL || work[i].Weight != r.Weight) {
				problems = append(problems, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", describe(r)))
				continue
			}
			work = append(work[:i], work[i+1:]...)
		default:
			problems = append(problems, fmt.Sprintf("Invalid change action %q", c.action))
		}
	}
	if len(problems) > 0 {
		return problems, nil
	}
	s.zones[cleanZoneID(zone)] = work
	s.changes++
	return nil, nil
}

// mixConflict reports what Route53 refuses: a weighted and a simple record
// set of the same name and type, or a CNAME next to any other type.
func mixConflict(recs []Record, r Record) string {
	for _, o := range recs {
		if o.Name != r.Name || sameKey(o, r) {
			continue
		}
		if o.Type == r.Type && (o.SetIdentifier == "") != (r.SetIdentifier == "") {
			return fmt.Sprintf("RRSet %s cannot be created because a non-weighted set exists with the same name and type (or the reverse)", describe(r))
		}
		if o.Type != r.Type && (o.Type == "CNAME" || r.Type == "CNAME") {
			return fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone", r.Name)
		}
	}
	return ""
}

type listQuery struct {
	name, typ, identifier string
	maxItems              int
}

type listPage struct {
	records   []Record
	truncated bool
	next      Record
	maxItems  int
}

// list returns one page starting at the first record not before the start
// point, as Route53 defines it.
func (s *store) list(zone string, q listQuery) (listPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, ok := s.zones[cleanZoneID(zone)]
	if !ok {
		return listPage{}, errNoSuchZone(zone)
	}
	s.lists++
	size := q.maxItems
	if size <= 0 || size > MaxPageSize {
		size = MaxPageSize
	}
	if s.pageSize > 0 && s.pageSize < size {
		size = s.pageSize
	}
	start := 0
	if q.name != "" {
		from := Record{Name: canonicalName(q.name), Type: q.typ, SetIdentifier: q.identifier}
		start = sort.Search(len(recs), func(i int) bool {
			if c := strings.Compare(sortKey(recs[i].Name), sortKey(from.Name)); c != 0 {
				return c > 0
			}
			if from.Type == "" {
				return true
			}
			if c := strings.Compare(recs[i].Type, from.Type); c != 0 {
				return c > 0
			}
			return recs[i].SetIdentifier >= from.SetIdentifier
		})
	}
	end := min(start+size, len(recs))
	p := listPage{records: append([]Record(nil), recs[start:end]...), maxItems: size}
	if end < len(recs) {
		p.truncated = true
		p.next = recs[end]
	}
	return p, nil
}

type zoneError struct{ zone string }

func (e zoneError) Error() string { return "No hosted zone found with ID: " + cleanZoneID(e.zone) }

func errNoSuchZone(zone string) error { return zoneError{zone} }
