package extsort

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shearch/shearch/internal/fault"
)

// A run gives back every field of every row as it was written, empty
// fields and bytes that are not UTF-8 included.
func TestRunCodecRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows []Row
	}{
		{"none", nil},
		{"empty row", []Row{{}}},
		{"whole", []Row{{Name: "web-1", Shard: "chef-1", Source: "chef", URL: "https://chef-1/nodes/web-1", Data: json.RawMessage(`{"name":"web-1"}`), Ohai: "1700000000.5"}}},
		{"partial without data or URL", []Row{{Name: "db-1", Shard: "chef-2", Source: "consul"}}},
		{"names only", []Row{{Name: "a", Shard: "s", Source: "chef", Ohai: "12"}, {Name: "b", Shard: "s", Source: "chef"}}},
		{"odd bytes", []Row{{Name: "n\x00\xff", Shard: "ş", Source: "chef", Data: json.RawMessage("\"\xe2\x82\xac\"")}}},
		{"large field", []Row{{Name: "big", Shard: "s", Source: "chef", Data: json.RawMessage(`"` + strings.Repeat("x", 300<<10) + `"`)}}},
		{"many", manyRows(500)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			for _, r := range tc.rows {
				b = appendRow(b, r)
			}
			rr := &runReader{r: bufio.NewReader(bytes.NewReader(b)), interned: map[string]string{}}
			var got []Row
			for {
				ok, err := rr.next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got = append(got, rr.cur)
			}
			if len(got) != len(tc.rows) {
				t.Fatalf("%d rows back, %d written", len(got), len(tc.rows))
			}
			for i := range got {
				if !reflect.DeepEqual(norm(got[i]), norm(tc.rows[i])) {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], tc.rows[i])
				}
			}
		})
	}
}

// norm treats empty and nil data alike: a run does not keep the
// difference, and nothing downstream sees it.
func norm(r Row) Row {
	if len(r.Data) == 0 {
		r.Data = nil
	}
	return r
}

// A run cut short, or one whose length says more than any field may
// hold, is one Internal error naming search.spill_dir, never a panic
// or a short answer.
func TestRunCodecDamaged(t *testing.T) {
	whole := appendRow(nil, Row{Name: "web-1", Shard: "chef-1", Source: "chef", Data: json.RawMessage(`{}`)})
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x0f} // a uvarint past maxField
	for _, tc := range []struct {
		name string
		run  []byte
		want string
	}{
		{"cut in a field", whole[:len(whole)-1], "reading a sorted run back from search.spill_dir: unexpected EOF"},
		{"cut between fields", whole[:1+len("web-1")], "reading a sorted run back from search.spill_dir: unexpected EOF"},
		{"field too long", huge, "reading a sorted run back from search.spill_dir: a field of 4294967295 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := &runReader{r: bufio.NewReader(bytes.NewReader(tc.run)), interned: map[string]string{}}
			ok, err := rr.next()
			if ok || err == nil || err.Error() != tc.want || !fault.Is(err, fault.Internal) {
				t.Fatalf("ok %v, err %v (kind %v); want %q, internal", ok, err, fault.KindOf(err), tc.want)
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Err == nil {
				t.Fatalf("the cause is lost: %#v", err)
			}
		})
	}
}
