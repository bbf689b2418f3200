package shards

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Encoded search pages as a shard sends them: partial rows as Chef (and
// devfleet/fakeshard) write them, keys sorted, and whole ohai-like nodes
// of about 10 KB.

func partialPage(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"total":%d,"start":0,"rows":[`, n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		name := fmt.Sprintf("node-%05d.prod.example.com", i)
		fmt.Fprintf(&b, `{"url":"http://127.0.0.1:8443/organizations/acme/nodes/%s","data":{"__shearch_name":%q,"__shearch_ohai_time":1794484758.%03d,"ipaddress":"10.%d.%d.%d","name":%q}}`,
			name, name, i%1000, i>>16&255, i>>8&255, i&255, name)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func wholeNode(i, size int) []byte {
	var b bytes.Buffer
	name := fmt.Sprintf("node-%05d.prod.example.com", i)
	fmt.Fprintf(&b, `{"name":%q,"chef_environment":"prod","json_class":"Chef::Node","chef_type":"node","run_list":["role[base]","role[web]"],"normal":{"tags":["web"]},"default":{},"override":{},"automatic":{"fqdn":%q,"ipaddress":"10.0.%d.%d","ohai_time":1794484758.%03d,"packages":{`,
		name, name, i>>8&255, i&255, i%1000)
	for k := 0; b.Len() < size-300; k++ {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"pkg-%03d":{"version":"1.%d.%d-ubuntu%d","arch":"amd64"}`, k, k%7, k%13, k%3)
	}
	b.WriteString(`},"filesystem":{"/dev/sda1":{"kb_size":"41152736","mount":"/","fs_type":"ext4","mount_options":["rw","relatime"]}},"kernel":{"name":"Linux","release":"6.18.0"}}}`)
	return b.Bytes()
}

func wholePage(n, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"total":%d,"start":0,"rows":[`, n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(wholeNode(i, size))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// cpuTime is the process's user+system CPU time, GC included: on a
// shared machine the wall clock says more about the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeRows decodes one page and keeps every row, as a search
// does: B/op and allocs/op are what a page costs the heap.
func BenchmarkDecodeRows(b *testing.B) {
	for _, tc := range []struct {
		name    string
		page    []byte
		rows    int
		partial bool
	}{
		{"partial-1000", partialPage(1000), 1000, true},
		{"whole-100x10KB", wholePage(100, 10000), 100, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.page)))
			b.ReportAllocs()
			kept := make([]Row, 0, tc.rows)
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				kept = kept[:0]
				n, err := decodeRows(bytes.NewReader(tc.page), tc.partial, func(r Row) error {
					kept = append(kept, r)
					return nil
				})
				if err != nil || n != tc.rows {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
			if !strings.HasPrefix(kept[len(kept)-1].Name, "node-") {
				b.Fatalf("last row %+v", kept[len(kept)-1])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tc.rows), "ns/row")
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*tc.rows), "cpu-ns/row")
		})
	}
}
