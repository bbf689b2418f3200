package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/shards"
)

// Too much from a caller is a 4xx naming the limit; too much from a shard
// is that shard's named failure beside the shards that answered. Memory
// stays bounded throughout (TotalAlloc is checked around each case).
func TestLimits(t *testing.T) {
	good := newRecordingShard(t)
	var bigSent atomic.Int64
	chunk := []byte(strings.Repeat(`{"name":"x","chef_environment":"_default"},`, 2000))
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 1 GiB streamed from one buffer: the fake allocates nothing.
		io.WriteString(w, `{"total":1,"rows":[`)
		for n := int64(0); n < 1<<30; n += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			bigSent.Add(int64(len(chunk)))
		}
	}))
	defer big.Close()
	var repeatReqs atomic.Int64
	repeat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repeatReqs.Add(1)
		rows, _ := strconv.Atoi(r.URL.Query().Get("rows"))
		out := make([]map[string]any, 0, rows)
		for i := 0; i < rows; i++ {
			out = append(out, map[string]any{"name": fmt.Sprint("r-", i%2)})
		}
		json.NewEncoder(w).Encode(map[string]any{"total": rows, "rows": out})
	}))
	defer repeat.Close()
	h := fakeShardServer(t,
		shards.Shard{Name: "chef-1", URL: good.srv.URL + "/organizations/acme"},
		shards.Shard{Name: "chef-big", URL: big.URL, Timeout: 20 * time.Second},
		shards.Shard{Name: "chef-repeat", URL: repeat.URL})
	h.Engine.(*engine.Engine).MaxAnswerBytes = 8 << 20
	srv := httptest.NewServer(h)
	defer srv.Close()

	measure := func(name string, f func()) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		began := time.Now()
		f()
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %v, TotalAlloc delta %d MiB, HeapInuse after %d MiB", name, time.Since(began).Round(time.Millisecond), alloc>>20, after.HeapInuse>>20)
		if alloc > 96<<20 {
			t.Errorf("%s allocated %d MiB", name, alloc>>20)
		}
	}

	measure("200 KiB query", func() {
		q := "name:" + strings.Repeat("a", 200<<10)
		res, err := http.Get(srv.URL + "/search/node?q=" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "over the 16 KiB limit (search.max_query_bytes)") {
			t.Errorf("%d %s", res.StatusCode, body)
		}
	})
	measure("2 MiB body", func() {
		body := `{"n":["` + strings.Repeat("a", 2<<20) + `"]}`
		res, err := http.Post(srv.URL+"/search/node", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "over the 1 MiB limit (server.max_body_bytes)") {
			t.Errorf("%d %s", res.StatusCode, b)
		}
	})
	measure("1 GiB shard answer and repeating pages", func() {
		res, err := http.Get(srv.URL + "/search/node?q=*:*")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		why := map[string]string{}
		json.Unmarshal([]byte(res.Header.Get("X-Shearch-Errors")), &why)
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Shearch-Shards") != "1/3" ||
			why["chef-big"] != "answer larger than 8 MiB (shards.max_answer_bytes)" ||
			!strings.Contains(why["chef-repeat"], `search of node: the page at start=0 holds "r-0" twice`) {
			t.Errorf("%d %v %s", res.StatusCode, res.Header, b)
		}
		if bigSent.Load() >= 1<<30 {
			t.Error("the whole 1 GiB was read")
		}
		if n := repeatReqs.Load(); n > 2 {
			t.Errorf("the repeating shard was asked %d times", n)
		}
	})
}
