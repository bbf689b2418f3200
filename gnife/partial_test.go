package gnife

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
)

// With a shard down, gnife keeps knife's output and exit code for what
// the other shards hold, and warns on stderr naming the shard and why;
// --partial deny turns it into a failure.
func TestFailedShardWarnings(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleettest.Start(ctx, 3, fx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.HTTP.URL}}}
		code := Run(args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
		return out.String(), errOut.String(), code
	}
	if _, _, code := run("node", "list"); code != 0 {
		t.Fatalf("node list with every shard up: exit %d", code)
	}
	f.Cluster.Shards[1].Stop()
	warning := "WARNING: shard chef-2 failed: connection refused"
	for _, args := range [][]string{{"node", "list"}, {"search", "node", "*:*", "-i"}, {"role", "show", "web"}} {
		out, errOut, code := run(args...)
		if code != 0 || !strings.Contains(errOut, warning) || out == "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 0 and %q", args, code, errOut, len(out), warning)
		}
	}
	_, errOut, code := run("search", "node", "*:*", "-i", "--partial", "deny")
	if code != ExitSearch || !strings.Contains(errOut, "chef-2") {
		t.Errorf("--partial deny: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run("node", "list", "--partial", "deny")
	if code != ExitNotFound || !strings.Contains(errOut, "chef-2") {
		t.Errorf("node list --partial deny: exit %d, stderr %q", code, errOut)
	}
}
