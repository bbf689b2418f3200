package gnife

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
)

// Ctrl-C during a request tears it down: the server sees its client go,
// and gnife exits 130 at once with one line, not after the answer.
func TestInterruptCancelsTheRequest(t *testing.T) {
	gone := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a gone client once the body is read
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	ctx, interrupt := context.WithCancel(context.Background())
	go func() { <-arrived; interrupt() }()
	var out, errOut bytes.Buffer
	env := &Env{Context: ctx, clientConfig: &api.Config{Addresses: []string{srv.URL}}}
	begin := time.Now()
	code := Run([]string{"search", "node", "role:web", "-i"}, IOStreams{Out: &out, ErrOut: &errOut}, env)
	if code != ExitInterrupted || errOut.String() != "ERROR: interrupted\n" {
		t.Errorf("interrupted search: exit %d, stderr %q; want %d and one line", code, errOut.String(), ExitInterrupted)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("gnife took %s to stop after the interrupt", took)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Error("the server never saw the interrupted request go")
	}
}
