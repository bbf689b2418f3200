package search

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shearch/shearch/shards"
)

// dataShard is a minimal Chef search endpoint over generated nodes: *:*,
// name:(a OR b ...) and role:R, whole or partial, paged, in a stable
// order. It counts requests so tests can tell how many round trips a
// search took.
type dataShard struct {
	names []string
	index map[string]int
	ohai  []string
	pad   string
	srv   *httptest.Server

	searches, gets atomic.Int64
	mu             sync.Mutex
	queries        []string
	// gate, when set, holds object reads by name until it is closed;
	// a read by name that names failName fails at once.
	gate     chan struct{}
	failName string
}

// newDataShard holds n nodes named prefix-00000..., each about size bytes,
// built when asked for so a big fleet costs the test no memory.
func newDataShard(t testing.TB, prefix string, n, size int, ohai func(i int) string) *dataShard {
	f := &dataShard{index: make(map[string]int, n), pad: strings.Repeat("x", max(size-300, 0))}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%05d.example.com", prefix, i)
		o := "1794484758.0"
		if ohai != nil {
			o = ohai(i)
		}
		f.names = append(f.names, name)
		f.index[name] = i
		f.ohai = append(f.ohai, o)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func role(i int) string {
	if i%2 == 0 {
		return "web"
	}
	return "db"
}

func ip(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250) }

func (f *dataShard) appendObj(b []byte, i int) []byte {
	return fmt.Appendf(b, `{"name":%q,"chef_type":"node","json_class":"Chef::Node","chef_environment":"prod","run_list":["role[%s]"],"automatic":{"ipaddress":%q,"roles":[%q],"ohai_time":%s},"normal":{"pad":"%s"}}`,
		f.names[i], role(i), ip(i), role(i), f.ohai[i], f.pad)
}

// field answers a partial-search path from the node's few attributes.
func (f *dataShard) field(i int, path []string) any {
	switch path[len(path)-1] {
	case "name":
		return f.names[i]
	case "ipaddress":
		return ip(i)
	case "ohai_time":
		return json.Number(f.ohai[i])
	case "roles":
		return []string{role(i)}
	case "chef_environment":
		return "prod"
	}
	return nil
}

func (f *dataShard) serve(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/nodes/"); ok {
		f.gets.Add(1)
		i, ok := f.index[name]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":["not found"]}`)
			return
		}
		w.Write(f.appendObj(nil, i))
		return
	}
	if r.URL.Path != "/search/node" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":["no such index"]}`)
		return
	}
	f.searches.Add(1)
	q := r.URL.Query().Get("q")
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if f.failName != "" && strings.HasPrefix(q, "name:") && strings.Contains(q, f.failName) {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if f.gate != nil && strings.HasPrefix(q, "name:") {
		select {
		case <-f.gate:
		case <-r.Context().Done():
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("start"))
	rows, _ := strconv.Atoi(r.URL.Query().Get("rows"))
	var match []int
	switch {
	case q == "*:*":
		for i := range f.names {
			match = append(match, i)
		}
	case strings.HasPrefix(q, "name:("):
		for _, t := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(q, "name:("), ")"), " OR ") {
			t = strings.ReplaceAll(t, `\`, "")
			if i, ok := f.index[t]; ok {
				match = append(match, i)
			}
		}
		sort.Ints(match)
	case strings.HasPrefix(q, "role:"):
		for i := range f.names {
			if role(i) == strings.TrimPrefix(q, "role:") {
				match = append(match, i)
			}
		}
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":["unsupported query"]}`)
		return
	}
	var partial map[string][]string
	if r.Method == http.MethodPost {
		json.NewDecoder(r.Body).Decode(&partial)
	}
	if start > len(match) {
		start = len(match)
	}
	page := match[start:min(start+rows, len(match))]
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, `{"total":%d,"start":%d,"rows":[`, len(match), start)
	var buf []byte
	for k, i := range page {
		if k > 0 {
			bw.WriteByte(',')
		}
		if partial == nil {
			buf = f.appendObj(buf[:0], i)
			bw.Write(buf)
			continue
		}
		// Written by hand: the fake must cost less than what it measures.
		buf = append(buf[:0], `{"url":"`...)
		buf = append(buf, f.srv.URL...)
		buf = append(buf, "/nodes/"...)
		buf = append(buf, f.names[i]...)
		buf = append(buf, `","data":{`...)
		first := true
		for key, path := range partial {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = strconv.AppendQuote(buf, key)
			buf = append(buf, ':')
			switch v := f.field(i, path).(type) {
			case string:
				buf = strconv.AppendQuote(buf, v)
			case json.Number:
				buf = append(buf, v...)
			default:
				vb, _ := json.Marshal(v)
				buf = append(buf, vb...)
			}
		}
		buf = append(buf, "}}"...)
		bw.Write(buf)
	}
	bw.WriteString("]}")
	bw.Flush()
}

// dataKey writes a throwaway RSA key for signing fake-shard requests.
func dataKey(t testing.TB) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func dataEngine(t testing.TB, fs ...*dataShard) *Engine {
	key := dataKey(t)
	var list StaticShards
	for i, f := range fs {
		list = append(list, shards.Shard{Name: fmt.Sprintf("s%02d", i), Stack: "prod", URL: f.srv.URL, ClientName: "admin", ClientKey: key})
	}
	return MustNew(Config{DefaultStack: "prod"}, Deps{Topology: list})
}

func (f *dataShard) reset() {
	f.searches.Store(0)
	f.gets.Store(0)
	f.mu.Lock()
	f.queries = nil
	f.mu.Unlock()
}
