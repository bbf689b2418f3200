package shards_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/shards"
)

// Real goiardi (signed auth on) takes the signer's requests, the one in
// 256 whose signature starts with a zero byte included: that is where
// the signer's bytes differ from go-chef's, which drops the byte.
func TestSignedByGoiardi(t *testing.T) {
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
	// A second within goiardi's 15 minutes of skew whose signature for
	// this request starts with a zero byte: (255/256)^1200 < 1%.
	now := time.Now().Truncate(time.Second)
	var at time.Time
	for i := 0; i < 1200 && at.IsZero(); i++ {
		ts := now.Add(time.Duration(i-600) * time.Second)
		sig, err := shards.SignatureAt(c, http.MethodGet, p, ts)
		if err != nil {
			t.Fatal(err)
		}
		if sig[0] == 0 {
			at = ts
		}
	}
	if at.IsZero() {
		t.Skip("no zero-byte signature in the 20 minutes around now (1 run in 100)")
	}
	shards.SetSignClock(c, func() time.Time { return at })
	if _, err := c.Do(ctx, http.MethodGet, p, nil); err != nil {
		t.Fatalf("goiardi refused a full-length signature with a leading zero byte: %v", err)
	}
}
