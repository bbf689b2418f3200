package shards_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
)

// Real goiardi (signed auth on) takes the signer's requests, the one in
// 256 whose signature starts with a zero byte included: that is where
// the signer's bytes differ from go-chef's, which drops the byte.
func TestSignedByGoiardi(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := devfleet.StartGoiardi(ctx, devfleet.GoiardiOptions{Name: "chef-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	c, err := g.Client()
	if err != nil {
		t.Fatal(err)
	}
	p := shards.CollectionPath(shards.Environments)
	if _, err := c.Do(ctx, http.MethodGet, p, nil); err != nil {
		t.Fatalf("a signed GET: %v", err)
	}
	// A request whose signature starts with a zero byte: reads of nodes
	// that differ in their name (protocol 1.0 signs the path, not the
	// query string), signed at one second, are independent tries at 1 in
	// 256 each; none in 6,000 is about 1 in 10^10. The node does not
	// exist: goiardi answering 404, not 401, is the signature accepted.
	at := time.Now().Truncate(time.Second)
	var q shards.Path
	for i := 0; i < 6000 && q.IsZero(); i++ {
		p, err := shards.ObjectPath(shards.Nodes, fmt.Sprintf("zero-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := shards.SignatureAt(c, http.MethodGet, p, at)
		if err != nil {
			t.Fatal(err)
		}
		if sig[0] == 0 {
			q = p
		}
	}
	if q.IsZero() {
		t.Fatal("no zero-byte signature in 6,000 searches (about 1 in 10^10): check the signer")
	}
	shards.SetSignClock(c, func() time.Time { return at })
	_, err = c.Do(ctx, http.MethodGet, q, nil)
	var se *shards.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Fatalf("goiardi refused a full-length signature with a leading zero byte: %v (want its 404 for a missing node)", err)
	}
}
