package devfleet

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// CountingProxy stands in front of a shard and sees the load from the
// shard's side: how many requests are open at once, the most ever, and
// how many came. It can add latency, and stop and start listening to play
// a shard going down and coming back on the same address.
type CountingProxy struct {
	URL     string
	Latency time.Duration
	// OnRequest, when set before traffic, hears each request as it
	// arrives (tests read its X-Request-Id).
	OnRequest func(r *http.Request)

	addr  string
	proxy *httputil.ReverseProxy
	open  atomic.Int64
	most  atomic.Int64
	total atomic.Int64
	// fwdOpen and fwdMost count the requests past the latency, forwarded
	// to the shard itself: one its client gave up on during the latency
	// never gets there (see ForwardedMost).
	fwdOpen atomic.Int64
	fwdMost atomic.Int64

	mu  sync.Mutex
	srv *http.Server
}

// StartCountingProxy listens on a free loopback port and forwards to target.
func StartCountingProxy(target string, latency time.Duration) (*CountingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &CountingProxy{Latency: latency, addr: ln.Addr().String(), proxy: httputil.NewSingleHostReverseProxy(u)}
	p.URL = "http://" + p.addr
	// A caller giving up is expected here, not worth a line each.
	p.proxy.ErrorLog = log.New(io.Discard, "", 0)
	p.serve(ln)
	return p, nil
}

func (p *CountingProxy) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(p.handle), ReadHeaderTimeout: 10 * time.Second}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	go srv.Serve(ln)
}

func (p *CountingProxy) handle(w http.ResponseWriter, r *http.Request) {
	n := p.open.Add(1)
	defer p.open.Add(-1)
	p.total.Add(1)
	if p.OnRequest != nil {
		p.OnRequest(r)
	}
	for m := p.most.Load(); n > m && !p.most.CompareAndSwap(m, n); m = p.most.Load() {
	}
	if p.Latency > 0 {
		t := time.NewTimer(p.Latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	f := p.fwdOpen.Add(1)
	for m := p.fwdMost.Load(); f > m && !p.fwdMost.CompareAndSwap(m, f); m = p.fwdMost.Load() {
	}
	p.proxy.ServeHTTP(w, r)
	p.fwdOpen.Add(-1)
}

// Open is the requests open now; Most the most ever open at once; Total
// every request received.
func (p *CountingProxy) Open() int64  { return p.open.Load() }
func (p *CountingProxy) Most() int64  { return p.most.Load() }
func (p *CountingProxy) Total() int64 { return p.total.Load() }

// ForwardedMost is the most requests open at once at the shard behind the
// proxy. It differs from Most when clients cancel: a client that gives up
// frees its side at once, and the proxy's server notices the closed
// connection a moment later, so Most can count a cancelled request beside
// the one that took its place; the cancelled one never reaches the shard.
func (p *CountingProxy) ForwardedMost() int64 { return p.fwdMost.Load() }

// ResetMost starts a new measure of the most requests open at once.
func (p *CountingProxy) ResetMost() {
	p.most.Store(p.open.Load())
	p.fwdMost.Store(p.fwdOpen.Load())
}

// Down closes the listener and every connection: the shard refuses.
func (p *CountingProxy) Down() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up listens again on the same address.
func (p *CountingProxy) Up() error {
	p.mu.Lock()
	up := p.srv != nil
	p.mu.Unlock()
	if up {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; give the kernel a moment to free it.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.Join(errors.New("counting proxy: cannot listen again on "+p.addr), err)
}

// Close stops the proxy for good.
func (p *CountingProxy) Close() { p.Down() }
