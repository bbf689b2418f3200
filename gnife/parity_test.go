package gnife

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
)

const examples = "../testdata/knife-examples"

// knifeClock is the instant the examples were recorded at.
var knifeClock = time.Unix(1795348800, 0)

// differs lists the cases whose bytes cannot match, with the reason; each
// reason is one the examples' README names as server-dependent or
// Ruby-specific.
var differs = map[string]string{
	"036": "server error text: the parse error is Shearch's own parser's, not goiardi's",
	"050": "built-in client keys: chef-validator/chef-webui public keys are regenerated at each goiardi start",
	"023": "Ruby-specific: knife's -F yaml dumps whole !ruby/object:Chef::Node internals (Psych); gnife prints plain YAML (README, Differences from knife)",
	"074": "Ruby-specific: knife's -F yaml dumps whole !ruby/object:Chef::Node internals (Psych); gnife prints plain YAML (README, Differences from knife)",
}

// orderFree cases have lines whose order varies from run to run in knife
// itself (concurrent ssh connections).
var orderFree = map[string]bool{"123": true}

type testFleet struct {
	cluster *devfleet.Cluster
	srv     *httptest.Server
}

// shared is three goiardi shards holding the fixture behind a Shearch
// whose object URLs read like the recorded server's
// (http://127.0.0.1:4647), as a Chef server behind a proxy would.
var shared = &fleettest.Shared{FixtureDir: "../testdata/fixture", Shards: 3,
	Configure: func(f *fleettest.Fleet) { f.Server.PublicURL = "http://127.0.0.1:4647" }}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

func startFleet(t testing.TB) *testFleet {
	t.Helper()
	integration.Needs(t, "goiardi")
	f, err := shared.Get()
	if err != nil {
		t.Fatalf("starting the fleet: %v", err)
	}
	return &testFleet{cluster: f.Cluster, srv: f.HTTP}
}

// runGnife runs gnife in-process against the fleet with knife's clock.
func runGnife(t testing.TB, f *testFleet, args []string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	env := &Env{Now: func() time.Time { return knifeClock }, clientConfig: &api.Config{Addresses: []string{f.srv.URL}}}
	code = Run(args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
	return out.String(), errOut.String(), code
}

// shellWords splits a command line as sh would for the quoting the
// examples use: single quotes, double quotes and plain words.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

type example struct {
	id, cmd          string
	out, err         string
	rc               int
	args             []string
	stdoutDiffersMsg string
}

func loadExamples(t testing.TB) []example {
	files, err := filepath.Glob(filepath.Join(examples, "*.cmd"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", examples, err)
	}
	var out []example
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".cmd")
		read := func(ext string) string {
			b, err := os.ReadFile(filepath.Join(examples, id+ext))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		ex := example{id: id, cmd: strings.TrimSpace(read(".cmd")), out: read(".out"), err: read(".err")}
		ex.rc, _ = strconv.Atoi(strings.TrimSpace(read(".rc")))
		words := shellWords(ex.cmd)
		ex.args = words[1:] // drop "knife"
		out = append(out, ex)
	}
	return out
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// TestKnifeParity runs every recorded knife case through gnife against
// Shearch over three goiardi shards and compares stdout, stderr and the
// exit code byte for byte.
func TestKnifeParity(t *testing.T) {
	f := startFleet(t)
	cases := loadExamples(t)
	same := 0
	for _, ex := range cases {
		t.Run(ex.id, func(t *testing.T) {
			out, errOut, rc := runGnife(t, f, ex.args)
			if orderFree[ex.id] {
				out, errOut = sortedLines(out), sortedLines(errOut)
				ex.out, ex.err = sortedLines(ex.out), sortedLines(ex.err)
			}
			ok := out == ex.out && errOut == ex.err && rc == ex.rc
			if ok {
				same++
				if why, listed := differs[ex.id]; listed {
					t.Errorf("%s is listed as differing (%s) but now matches: remove it from the list", ex.id, why)
				}
				return
			}
			if why, listed := differs[ex.id]; listed {
				t.Logf("%s differs as expected: %s", ex.id, why)
				return
			}
			t.Errorf("%s: %s\n--- exit %d, want %d\n--- stdout:\n%s\n--- want:\n%s\n--- stderr:\n%s\n--- want:\n%s", ex.id, ex.cmd, rc, ex.rc, out, ex.out, errOut, ex.err)
		})
	}
	pct := 100 * float64(same) / float64(len(cases))
	t.Logf("knife parity: %d of %d cases byte-identical (%.1f%%)", same, len(cases), pct)
	if pct < 95 {
		t.Errorf("knife parity %.1f%% is below 95%%", pct)
	}
}
