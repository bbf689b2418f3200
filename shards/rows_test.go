package shards

import (
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
