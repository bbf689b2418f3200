package shards

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// A shard that cannot be reached is named by the cause's type, never by
// its text: a refused connection and a client timeout read plainly, and
// anything else keeps its own words without the request URL.
func TestDescribeNetError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, refused := http.Get("http://" + addr + "/")

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	_, timeout := (&http.Client{Timeout: 50 * time.Millisecond}).Get(slow.URL)

	other := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route to host")}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", refused, "shard chef-1: connection refused (is the Chef server up?)"},
		{"client timeout", timeout, "shard chef-1: timed out"},
		{"refused errno", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "shard chef-1: connection refused (is the Chef server up?)"},
		{"other", other, "shard chef-1: dial tcp: no route to host"},
	} {
		e := &NetError{Shard: "chef-1", Err: tc.err}
		if got := e.Error(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if e.Detail() != tc.want[len("shard chef-1: "):] || e.ShardName() != "chef-1" {
			t.Errorf("%s: detail %q shard %q", tc.name, e.Detail(), e.ShardName())
		}
	}
}
