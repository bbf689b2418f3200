package apitest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// The api module's Example functions, run as `go test` runs them (their
// Output comments checked) against the live Shearch: the api module
// cannot import the fleet, so the fleet comes to it through SHEARCH_URL.
func TestExamples(t *testing.T) {
	l := live.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^Example", "-v", ".")
	cmd.Dir = "../api"
	cmd.Env = append(os.Environ(), "SHEARCH_URL="+l.srv.URL, "SHEARCH_TOKEN="+writeToken, "SHEARCH_CACERT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the api examples failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
