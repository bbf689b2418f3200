package gnife

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
)

// gnife facets prints, per attribute, the API's counts as a table sorted
// by count then value, and with -F json the API's answer itself.
func TestFacetsMatchAPI(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	attrs := []string{"platform", "tags", "kernel.release", "cpu.total"}
	want, err := f.Client.Facets(ctx, "node", "*:*", attrs, &api.FacetOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}

	out, errOut, code := run("facets", "node", "*:*", "-a", "platform", "-a", "tags", "-a", "kernel.release", "-a", "cpu.total")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var wantText []string
	for _, a := range attrs {
		fc := want.Facets[a]
		wantText = append(wantText, fmt.Sprintf("%s: %d rows, %d distinct values, %d missing", a, want.Total, len(fc.Values), fc.Missing), "VALUE COUNT SHARE")
		for _, v := range fc.SortedValues() {
			wantText = append(wantText, fmt.Sprintf("%s %d %.1f%%", v, fc.Values[v], 100*float64(fc.Values[v])/float64(want.Total)))
		}
		wantText = append(wantText, "")
	}
	var gotText []string
	for _, line := range strings.Split(out, "\n") {
		gotText = append(gotText, strings.Join(strings.Fields(line), " "))
	}
	t.Logf("gnife facets node *:* -a platform -a tags -a kernel.release -a cpu.total:\n%s", out)
	if len(want.Facets["platform"].Values) < 3 || !reflect.DeepEqual(gotText, wantText) {
		t.Errorf("table:\n%s\nwant (spacing aside):\n%s", out, strings.Join(wantText, "\n"))
	}

	out, _, code = run("facets", "node", "*:*", "-a", "platform", "-a", "tags", "-a", "kernel.release", "-a", "cpu.total", "-F", "json")
	var got api.Facets
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("-F json: exit %d, %v:\n%s", code, err, out)
	}
	for _, r := range []*api.Facets{&got, want} {
		for i := range r.Shards.Details {
			r.Shards.Details[i].TookMS = 0
		}
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("-F json:\n got %+v\nwant %+v", got, *want)
	}

	if _, errOut, code := run("facets", "node", "*:*"); code != ExitUsage || !strings.Contains(errOut, "-a PATH") {
		t.Errorf("without -a: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := run("facets", "node", "*:*", "-a", "kernel..release"); code != ExitSearch || !strings.Contains(errOut, "empty segment") {
		t.Errorf("a bad path: exit %d, stderr %q", code, errOut)
	}
}
