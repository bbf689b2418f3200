package replica_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chef/chef"
)

// knifeWalk does what `knife search node '*:*' -i` does over Shearch's
// Chef API, with go-chef's signed requests (knife itself is not
// installed): pages of 1,000 rows by start until a short page. It returns
// how often each node name came.
func knifeWalk(base string) (map[string]int, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	key := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	c, err := chef.NewClient(&chef.Config{Name: "knife", Key: key, BaseURL: base + "/", AuthenticationVersion: "1.0", Timeout: 60})
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for start := 0; ; start += 1000 {
		req, err := c.NewRequest("GET", fmt.Sprintf("search/node?q=%s&sort=X_CHEF_id_CHEF_X%%20asc&start=%d&rows=1000", url.QueryEscape("*:*"), start), nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Total int `json:"total"`
			Rows  []struct {
				Name string `json:"name"`
			} `json:"rows"`
		}
		res, err := c.Do(req, &page)
		if err != nil {
			return seen, fmt.Errorf("page at start %d: %v", start, err)
		}
		res.Body.Close()
		for _, r := range page.Rows {
			seen[r.Name]++
		}
		if len(page.Rows) < 1000 {
			return seen, nil
		}
	}
}

func nodeCount(t *testing.T, base string) int {
	t.Helper()
	var v struct {
		Total int `json:"total"`
	}
	res, err := http.Get(base + "/v1/search/node?q=*:*&rows=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := jsonDecode(res.Body, &v); err != nil || res.StatusCode != 200 {
		t.Fatalf("counting nodes: HTTP %d %v", res.StatusCode, err)
	}
	return v.Total
}

// Acceptance 3: 100 clients query through HAProxy for 30 s while each
// replica in turn gets SIGTERM, exits 0 and is started again. No client
// gets a 5xx or a connection error, and a knife-style walk of every node
// in 1,000-row pages started during each restart sees every node once.
func TestRollingRestartUnderLoad(t *testing.T) {
	const clients, duration = 100, 30 * time.Second
	e := getEnv(t)
	procs, h := e.startReplicas(t, 2, replicaOpts{service: "shearch-roll", maxInFlight: 16, shutdownDelay: 3 * time.Second})
	nodes := nodeCount(t, h.URL)

	var sent, failed, shed atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	began := time.Now()
	for i := range clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := hc.Get(fmt.Sprintf("%s/v1/search/node?q=*:*&rows=5&start=%d", h.URL, 5*((i+n)%20)))
				sent.Add(1)
				why := ""
				if err != nil {
					why = err.Error()
				} else {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					switch {
					case err != nil:
						why = "body cut: " + err.Error()
					case res.StatusCode == 429:
						shed.Add(1)
					case res.StatusCode >= 500:
						why = fmt.Sprintf("HTTP %d", res.StatusCode)
					}
				}
				if why != "" {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %s", time.Since(began).Round(time.Millisecond), why))
					mu.Unlock()
				}
				// A client thinks between queries: 100 of them busy without a
				// pause would saturate a shared two-core machine, and the
				// walk below would queue behind them for minutes.
				time.Sleep(500 * time.Millisecond)
			}
		})
	}

	time.Sleep(2 * time.Second)
	for i, p := range procs {
		walked := make(chan error, 1)
		var seen map[string]int
		var walkTook time.Duration
		go func() {
			var err error
			t0 := time.Now()
			seen, err = knifeWalk(h.URL)
			walkTook = time.Since(t0)
			walked <- err
		}()
		term := time.Now()
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// Deregistered first thing: the other replica's share grows while
		// this one still serves out its shutdown_delay with /readyz at 503.
		other := procs[1-i]
		v := waitReplicas(t, other, 1, 10*time.Second)
		grew := time.Since(term)
		if v.Slots != 16 {
			t.Errorf("replica %d alone while %d drains: %d slots, want all 16", 2-i, i+1, v.Slots)
		}
		if res, err := http.Get(p.URL + "/readyz"); err != nil {
			t.Errorf("replica %d during its shutdown_delay: /readyz: %v, want a 503", i+1, err)
		} else if res.Body.Close(); res.StatusCode != 503 {
			t.Errorf("replica %d during its shutdown_delay: /readyz %d, want 503", i+1, res.StatusCode)
		}
		if err := p.Wait(40 * time.Second); err != nil {
			t.Fatalf("replica %d after SIGTERM: %v (want exit 0)\n%s", i+1, err, p.Log())
		}
		exited := time.Since(term)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		waitReplicas(t, p, 2, 20*time.Second)
		waitHAProxyUp(t, h, procs)
		back := time.Since(term)
		werr := <-walked
		once, twice := 0, 0
		for _, n := range seen {
			if n == 1 {
				once++
			} else {
				twice++
			}
		}
		t.Logf("replica %d: SIGTERM -> the other's share 8 -> %d in %s, exit 0 in %s, back in HAProxy after %s; knife-style walk during it (%s): %d nodes once, %d more than once, of %d (%v)",
			i+1, v.Slots, grew.Round(10*time.Millisecond), exited.Round(10*time.Millisecond), back.Round(10*time.Millisecond), walkTook.Round(10*time.Millisecond), once, twice, nodes, werr)
		if werr != nil || once != nodes || twice != 0 {
			t.Errorf("the walk during replica %d's restart: %v; %d of %d nodes once, %d more than once", i+1, werr, once, nodes, twice)
		}
	}
	if left := duration - time.Since(began); left > 0 {
		time.Sleep(left)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d clients for %s through HAProxy during the rolling restart: %d requests, %d failed (5xx or connection error), %d shed with 429",
		clients, time.Since(began).Round(time.Second), sent.Load(), failed.Load(), shed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during the rolling restart; first ones: %v", failed.Load(), failures[:min(len(failures), 10)])
	}
}
