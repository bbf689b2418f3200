package shards

import (
	"encoding/base64"
	"strconv"
	"time"
)

// SetSignClock fixes the clock c signs its requests with; nil is
// time.Now.
func SetSignClock(c *Client, now func() time.Time) { c.chef.now = now }

// SignatureAt is the signature c sends for method and p, without a body,
// when its clock reads at.
func SignatureAt(c *Client, method string, p Path, at time.Time) ([]byte, error) {
	s := *c.chef
	s.now = func() time.Time { return at }
	r, err := s.NewRequest(method, p.rel, nil)
	if err != nil {
		return nil, err
	}
	var b64 string
	for i := 1; r.Header.Get("X-Ops-Authorization-"+strconv.Itoa(i)) != ""; i++ {
		b64 += r.Header.Get("X-Ops-Authorization-" + strconv.Itoa(i))
	}
	return base64.StdEncoding.DecodeString(b64)
}
