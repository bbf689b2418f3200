package discovery_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shearch/shearch/devfleet/route53stub"
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/shards"
)

const testZone = "ZSHEARCH1"

// stub is a running Route53 stand-in with the prod set of the design doc:
// three weighted records, one at weight 0.
func stub(t *testing.T, opts route53stub.Options) *route53stub.Server {
	t.Helper()
	opts.Zones = append(opts.Zones, testZone)
	s := route53stub.New(opts)
	if _, err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	upsert(t, s,
		rec("chef.prod.example.com.", "chef-1", 20, "127.0.0.2."),
		rec("chef.prod.example.com.", "chef-2", 0, "127.0.0.3"),
		rec("chef.prod.example.com.", "chef-3", 10, "chef-3.prod.example.com."),
	)
	return s
}

func rec(name, id string, w int64, target string) route53stub.Record {
	return route53stub.Record{Name: name, Type: "CNAME", SetIdentifier: id, Weight: w, Target: target, TTL: 60}
}

func upsert(t *testing.T, s *route53stub.Server, recs ...route53stub.Record) {
	t.Helper()
	for _, r := range recs {
		if err := s.Upsert(testZone, r); err != nil {
			t.Fatal(err)
		}
	}
}

// r53Config points the real SDK client at the stand-in with static test
// credentials, one attempt per call so an outage fails fast.
func r53Config(endpoint string, records ...discovery.Route53Record) *discovery.Route53Config {
	if len(records) == 0 {
		records = []discovery.Route53Record{{Name: "chef.prod.example.com", Stack: "prod"}}
	}
	return &discovery.Route53Config{
		Endpoint: endpoint, ZoneID: testZone, Records: records, URLTemplate: "http://{target}:4647",
		Region: "us-east-1", AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", MaxAttempts: 1,
	}
}

func r53Source(t *testing.T, cfg *discovery.Route53Config) *discovery.Route53 {
	t.Helper()
	src, err := discovery.NewRoute53(t.Context(), *cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// describe renders shards compactly for comparisons.
func describe(list []shards.Shard) string {
	var out []string
	for _, s := range list {
		w := "-"
		if s.Weight != nil {
			w = fmt.Sprint(*s.Weight)
		}
		out = append(out, fmt.Sprintf("%s %s %s w=%s %s %s", s.Name, s.Stack, s.URL, w, s.Source, s.Health))
	}
	return strings.Join(out, "\n")
}

func sortedByName(list []shards.Shard) []shards.Shard {
	list = slices.Clone(list)
	slices.SortFunc(list, func(a, b shards.Shard) int { return strings.Compare(a.Name, b.Name) })
	return list
}

func wantShards(t *testing.T, got []shards.Shard, want ...string) {
	t.Helper()
	if g := describe(got); g != strings.Join(want, "\n") {
		t.Fatalf("shards:\n%s\nwant:\n%s", g, strings.Join(want, "\n"))
	}
}

// logBuffer collects a logger's lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// The whole weighted set is found, the weight-0 shard included, with the
// target's trailing dot gone from the URL.
func TestRoute53FindsWholeWeightedSet(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{})
	got, problems, err := r53Source(t, r53Config(s.URL())).Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	wantShards(t, sortedByName(got),
		"chef-1 prod http://127.0.0.2:4647 w=20 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown")
}

// With the server forcing one record a page, discovery pages through each
// set and stops at its edge; neighbouring names and other types are ignored.
func TestRoute53PagesOneRecordAtATime(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{PageSize: 1})
	upsert(t, s,
		rec("chef.dev.example.com.", "chef-d1", 5, "127.0.0.10"),
		rec("chef.dev.example.com.", "chef-d2", 5, "127.0.0.11"),
		// chef-x. sorts just before chef. and a.chef. just after it.
		rec("chef-x.prod.example.com.", "chef-x1", 1, "127.0.0.20"),
		route53stub.Record{Name: "a.chef.prod.example.com.", Type: "CNAME", Target: "elsewhere.example.com", TTL: 60},
		route53stub.Record{Name: "b.chef.prod.example.com.", Type: "TXT", Target: `"x"`, TTL: 60},
		route53stub.Record{Name: "chef.qa.example.com.", Type: "A", Target: "192.0.2.1", TTL: 60},
		route53stub.Record{Name: "example.com.", Type: "TXT", Target: `"v=spf1"`, TTL: 60},
	)
	src := r53Source(t, r53Config(s.URL(),
		discovery.Route53Record{Name: "chef.prod.example.com.", Stack: "prod"},
		discovery.Route53Record{Name: "chef.dev.example.com.", Stack: "dev"}))
	before := s.ListCalls()
	got, problems, err := src.Discover(t.Context())
	if err != nil || len(problems) > 0 {
		t.Fatalf("err %v, problems %v", err, problems)
	}
	wantShards(t, got,
		"chef-1 prod http://127.0.0.2:4647 w=20 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown",
		"chef-d1 dev http://127.0.0.10:4647 w=5 route53 unknown",
		"chef-d2 dev http://127.0.0.11:4647 w=5 route53 unknown")
	// 3 prod pages + 2 dev pages, each set ending at the page whose next
	// record is another name.
	if calls := s.ListCalls() - before; calls != 5 {
		t.Fatalf("%d list calls, want 5 one-record pages", calls)
	}
}

// Bad records are reported next to the good shards and skipped.
func TestRoute53BadRecordsReportedAndSkipped(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{PageSize: 2})
	upsert(t, s,
		rec("chef.prod.example.com.", "chef-4", 5, "not a host!"),
		rec("chef.dev.example.com.", "chef-1", 5, "127.0.0.10"), // chef-1 is already prod's
		rec("chef.dev.example.com.", "chef-d2", 5, "127.0.0.11"),
		rec("chef.nostack.example.com.", "chef-n1", 5, "127.0.0.12"),
		rec("chef.qa.example.com.", "chef-q1", 5, "127.0.0.13"),
	)
	cfg := r53Config(s.URL(),
		discovery.Route53Record{Name: "chef.prod.example.com.", Stack: "prod"},
		discovery.Route53Record{Name: "chef.dev.example.com.", Stack: "dev"},
		discovery.Route53Record{Name: "chef.nostack.example.com.", Stack: ""},
		discovery.Route53Record{Name: "chef.qa.example.com.", Stack: "qa"})
	cfg.Stacks = []string{"prod", "dev"}
	got, problems, err := r53Source(t, cfg).Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantShards(t, got,
		"chef-1 prod http://127.0.0.2:4647 w=20 route53 unknown",
		"chef-2 prod http://127.0.0.3:4647 w=0 route53 unknown",
		"chef-3 prod http://chef-3.prod.example.com:4647 w=10 route53 unknown",
		"chef-d2 dev http://127.0.0.11:4647 w=5 route53 unknown")
	wantProblems(t, problems,
		`route53 chef.prod.example.com. (chef-4): target "not a host!" is not a host name; skipped`,
		`route53 chef.dev.example.com. (chef-1): duplicate set identifier: already used by a record of chef.prod.example.com.; skipped`,
		`route53 chef.nostack.example.com. (chef-n1): no stack configured; skipped`,
		`route53 chef.qa.example.com. (chef-q1): unknown stack "qa" (known: prod, dev); skipped`)

	// A template that builds no usable URL spoils every record, still
	// without failing discovery.
	cfg = r53Config(s.URL())
	cfg.URLTemplate = "http://{target}:port"
	got, problems, err = r53Source(t, cfg).Discover(t.Context())
	if err != nil || len(got) != 0 || len(problems) != 4 ||
		!strings.Contains(problems[0].Problem, `url "http://127.0.0.2:port" built from url_template is not an http(s) URL`) {
		t.Fatalf("got %v, problems %v, err %v", got, problems, err)
	}
}

func wantProblems(t *testing.T, got []discovery.Problem, want ...string) {
	t.Helper()
	var g []string
	for _, p := range got {
		g = append(g, p.String())
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// An unknown zone and an unreachable endpoint are whole-source failures
// whose message says what failed.
func TestRoute53Failures(t *testing.T) {
	t.Parallel()
	s := stub(t, route53stub.Options{})
	cfg := r53Config(s.URL())
	cfg.ZoneID = "ZMISSING"
	_, _, err := r53Source(t, cfg).Discover(t.Context())
	if err == nil || !strings.Contains(err.Error(), "NoSuchHostedZone") || !strings.Contains(err.Error(), "ZMISSING") {
		t.Fatalf("err = %v", err)
	}
	url := s.URL()
	s.Close()
	_, _, err = r53Source(t, r53Config(url)).Discover(t.Context())
	if err == nil || !strings.Contains(err.Error(), "chef.prod.example.com.") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
}

func TestRoute53ConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mutate func(*discovery.Route53Config)
		want   string
	}{
		{func(c *discovery.Route53Config) { c.ZoneID = "" }, "zone_id"},
		{func(c *discovery.Route53Config) { c.Records = nil }, "no records"},
		{func(c *discovery.Route53Config) { c.URLTemplate = "http://chef:4647" }, "{target}"},
		{func(c *discovery.Route53Config) {
			c.Records = append(c.Records, discovery.Route53Record{Name: "CHEF.prod.example.com."})
		}, "listed twice"},
	} {
		cfg := r53Config("http://127.0.0.1:1")
		tc.mutate(cfg)
		if _, err := discovery.NewRoute53(t.Context(), *cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want it to mention %q", err, tc.want)
		}
	}
}
