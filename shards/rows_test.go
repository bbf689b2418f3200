package shards

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecodeRows(t *testing.T) {
	page := `{"total": 2, "start": 0, "rows": [
		{"name": "web-1", "automatic": {"roles": ["a}"], "ohai_time": 1794484758.0}, "normal": {"x": "\"{"}},
		{"id": "item", "raw_data": {"name": 3}}
	]}`
	var rows []Row
	// One byte a read: rows and strings cut at every boundary.
	n, err := decodeRows(iotest.OneByteReader(strings.NewReader(page)), false, func(r Row) error { rows = append(rows, r); return nil })
	if err != nil || n != 2 {
		t.Fatalf("%d rows, %v", n, err)
	}
	if rows[0].Name != "web-1" || rows[0].Ohai != "1794484758.0" || !strings.HasSuffix(string(rows[0].Data), `"\"{"}}`) {
		t.Fatalf("whole row %+v", rows[0])
	}
	if rows[1].Name != "item" || rows[1].Ohai != "" {
		t.Fatalf("data bag row %+v", rows[1])
	}

	page = `{"rows": [{"url": "http://s/nodes/a%20b", "data": {"ip": "10.0.0.1", "__shearch_name": "a b", "k\"q": [1, {"y": 2}], "__shearch_ohai_time": 17.5}},
		{"url": "http://s/nodes/c", "data": null}]}`
	rows = nil
	if _, err := decodeRows(strings.NewReader(page), true, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if r := rows[0]; r.Name != "a b" || r.Ohai != "17.5" || string(r.Data) != `{"ip":"10.0.0.1","k\"q":[1, {"y": 2}]}` {
		t.Fatalf("partial row %+v %s", r, r.Data)
	}
	if r := rows[1]; r.Name != "c" || string(r.Data) != `{}` {
		t.Fatalf("partial row without data %+v %s", r, r.Data)
	}
	if _, err := decodeRows(strings.NewReader(`{"rows": [{"name": "x"`), false, func(Row) error { return nil }); err == nil {
		t.Fatal("a cut answer decoded without error")
	}
}

// Rows larger than the read buffer, and rows that cross its end, come out
// whole; each row owns its bytes (the buffer is reused under it).
func TestDecodeRowsAcrossBuffers(t *testing.T) {
	big := strings.Repeat("x", 3*scanBuffer)
	var page strings.Builder
	page.WriteString(`{"start": 0, "extra": {"a": [1, "]"]}, "rows": [`)
	want := []string{}
	for i := 0; i < 40; i++ {
		if i > 0 {
			page.WriteString(", ")
		}
		pad := strings.Repeat("y", i*997)
		if i == 7 {
			pad = big
		}
		row := fmt.Sprintf(`{"name": "n%d", "pad": "%s\"", "automatic": {"ohai_time": %d}}`, i, pad, i)
		want = append(want, row)
		page.WriteString(row)
	}
	page.WriteString("]}")
	for _, r := range []func(string) io.Reader{
		func(s string) io.Reader { return strings.NewReader(s) },
		func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	} {
		var rows []Row
		n, err := decodeRows(r(page.String()), false, func(r Row) error { rows = append(rows, r); return nil })
		if err != nil || n != len(want) {
			t.Fatalf("%d rows, %v", n, err)
		}
		for i, r := range rows {
			if string(r.Data) != want[i] || r.Name != fmt.Sprint("n", i) || r.Ohai != fmt.Sprint(i) {
				t.Fatalf("row %d: %s %s (%d bytes)", i, r.Name, r.Ohai, len(r.Data))
			}
		}
	}
}

func TestDecodeRowsNames(t *testing.T) {
	page := `{"rows": [
		{"url": "http://s/nodes/u", "data": {"__shearch_name": "a\u00e9\"b", "__shearch_ohai_time": "x", "k": 1}},
		{"url": "http://s/nodes/from-url", "data": {"__shearch_name": ""}},
		{"name": "top", "data": {"k": 2}},
		{"url": "http://s/nodes/o", "data": {"__shearch_ohai_time": 3, "__shearch_name": "o"}}
	], "total": 4}`
	var rows []Row
	if _, err := decodeRows(strings.NewReader(page), true, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s|%s|%s", r.Name, r.Ohai, r.Data))
	}
	want := []string{"aé\"b||{\"k\":1}", "from-url||{}", "top||{\"k\":2}", "o|3|{}"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// Data cannot be appended to over the name after it.
	d := append(rows[3].Data, 'z')
	if rows[3].Name != "o" || rows[3].Ohai != "3" || string(d) != "{}z" {
		t.Fatalf("append to Data reached the name: %+v", rows[3])
	}
}

func TestDecodeRowsRefusesBadAnswers(t *testing.T) {
	for _, page := range []string{
		``,
		`[]`,
		`{"rows": {}}`,
		`{"rows": 3}`,
		`{"total": 1x, "rows": []}`,
		`{"total": 1 "rows": []}`,
		`{total: 1, "rows": []}`,
		`{"rows": [{"name": "a"} {"name": "b"}]}`,
		`{"rows": [{"name": "a", }]}`,
		`{"rows": ["a"]}`,
		`{"rows": [{"name": "a"}`,
		`{"extra": "cut`,
	} {
		if n, err := decodeRows(strings.NewReader(page), false, func(Row) error { return nil }); err == nil {
			t.Errorf("%s: %d rows, no error", page, n)
		}
	}
	for page, want := range map[string]int{
		`{}`:                                   0,
		`{"rows": null, "total": 0}`:           0,
		` { "rows" : [ ] } `:                   0,
		`{"rows": [{"name": "a"}]} trailing`:   1,
		`{"ro\u0077s": [{"name": "a"}], "x"`:   1,
		"{\"rows\":\n[\n{\"name\": \"a\"}\n]}": 1,
	} {
		if n, err := decodeRows(strings.NewReader(page), false, func(Row) error { return nil }); err != nil || n != want {
			t.Errorf("%s: %d rows, %v", page, n, err)
		}
	}
}
