package shards

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// legacyPartialRow is how a partial row was read before the one-pass
// reader: by members over the row and its hash, on text validJSON had
// already checked. It is the reference the reader must agree with, and
// the "before" of BenchmarkDecodeRows.
func legacyPartialRow(raw []byte) Row {
	var u, top, name, ohai []byte
	var data []byte
	stripped := false
	members(raw, func(k, v []byte) bool {
		switch string(k) {
		case "name":
			top = v
		case "url":
			u = v
		case "data":
			data, name, ohai, stripped = legacyStripped(data, v)
		}
		return true
	})
	if !stripped {
		data = []byte("{}")
	}
	return partialFields(data, u, top, name, ohai)
}

func legacyStripped(out, obj []byte) (_ []byte, name, ohai []byte, ok bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return out, nil, nil, false
	}
	out = append(out, '{')
	first := true
	members(obj, func(k, v []byte) bool {
		switch string(k) {
		case nameKey:
			name = v
			return true
		case ohaiKey:
			ohai = v
			return true
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		if bytes.ContainsAny(k, "\"\\") || bytes.ContainsFunc(k, func(r rune) bool { return r < ' ' }) {
			q, _ := json.Marshal(string(k))
			out = append(out, q...)
		} else {
			out = append(out, '"')
			out = append(out, k...)
			out = append(out, '"')
		}
		out = append(out, ':')
		out = append(out, v...)
		return true
	})
	return append(out, '}'), name, ohai, true
}

// dataKeys counts the row's top-level "data" keys.
func dataKeys(raw []byte) int {
	n := 0
	members(raw, func(k, _ []byte) bool {
		if string(k) == "data" {
			n++
		}
		return true
	})
	return n
}

var partialCases = []string{
	`{"url":"http://s/nodes/a","data":{"__shearch_name":"a","__shearch_ohai_time":17.5,"ipaddress":"10.0.0.1","name":"a"}}`,
	`{ "url" : "http://s/nodes/a%20b" , "data" : { "ip" : "10.0.0.1" , "__shearch_name" : "a b" , "k\"q" : [1, {"y": 2}] } }`,
	`{"url":"http://s/nodes/u","data":{"__shearch_name":"a\u00e9\"b","__shearch_ohai_time":"x","k":1}}`,
	`{"url":"http://s/nodes/from-url","data":{"__shearch_name":""}}`,
	`{"name":"top","data":{"k":2}}`,
	`{"url":"http://s/nodes/c","data":null}`,
	`{"data":{"\u0061<b":1,"__shearch_n\u0061me":"esc","x":{"a":[true,false,null,-1.5e3]}},"ur\u006c":"http://s/nodes/z"}`,
	`{}`, `{"data":{}}`, `{"data":[1]}`, `{"data":{"__shearch_ohai_time":3,"__shearch_name":"o"}}`,
	// invalid, cut, or followed by more
	`{`, `{"url"`, `{"url":}`, `{"data":{"a":1,}}`, `{"data":{"a" 1}}`, `{"data":{"a":01}}`, `{"a":"\x"}`,
	"{\"data\":{\"a\":\"\x01\"}}", `{"data":{"__shearch_name":"a"}} ,{"b":1}`, `{"data":{"a":1}}}`, `{"data":{"a":[1,2}}`,
	`{"url":"u","data":{"__shearch_name":"a"}`, `{"url":"u" "data":{}}`, `{"data":{"a":1}, }`,
}

func checkPartialRow(t *testing.T, b []byte) {
	var s scanner
	r, end, ok := s.partialRow(b)
	if ok {
		if !json.Valid(b[:end]) {
			t.Fatalf("partialRow(%q) read %q, which is not valid JSON", b, b[:end])
		}
		if dataKeys(b[:end]) <= 1 {
			want := legacyPartialRow(b[:end])
			if r.Name != want.Name || r.Ohai != want.Ohai || string(r.Data) != string(want.Data) {
				t.Fatalf("partialRow(%q) = %q %q %s, members read %q %q %s", b, r.Name, r.Ohai, r.Data, want.Name, want.Ohai, want.Data)
			}
		}
		if !json.Valid(r.Data) {
			t.Fatalf("partialRow(%q) kept %s, which is not valid JSON", b, r.Data)
		}
	}
	if len(b) > 0 && b[0] == '{' && json.Valid(b) {
		if !ok || end != len(bytes.TrimRight(b, " \t\r\n")) {
			t.Fatalf("partialRow(%q) = %v, end %d: json.Valid says it is a whole object", b, ok, end)
		}
	}
}

func TestPartialRowAgreesWithMembers(t *testing.T) {
	for _, c := range partialCases {
		checkPartialRow(t, []byte(c))
	}
}

// Two "data" keys: the last counts, as for encoding/json. members read
// them into one hash after the other, which is not JSON.
func TestPartialRowLastDataCounts(t *testing.T) {
	page := `{"rows":[{"url":"http://s/nodes/x","data":{"__shearch_name":"a","k":1},"data":{"__shearch_name":"b","k":2}},
		{"url":"http://s/nodes/x","data":{"__shearch_name":"a","k":1},"data":null}]}`
	var rows []Row
	if _, err := decodeRows(strings.NewReader(page), true, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if r := rows[0]; r.Name != "b" || string(r.Data) != `{"k":2}` {
		t.Fatalf("got %q %s", r.Name, r.Data)
	}
	if r := rows[1]; r.Name != "x" || string(r.Data) != `{}` {
		t.Fatalf("got %q %s", r.Name, r.Data)
	}
}

// BenchmarkPartialRow reads one row of BenchmarkDecodeRows' page in
// memory, as before (validJSON, then members over the row and its hash)
// and with the one-pass reader; the decode also finds the row in the
// stream, which the one pass does in the same scan.
func BenchmarkPartialRow(b *testing.B) {
	page := partialPage(2)
	raw := page[bytes.Index(page, []byte(`[`))+1 : bytes.Index(page, []byte(`},{`))+1]
	b.Run("members", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !validJSON(raw) || legacyPartialRow(raw).Name == "" {
				b.Fatal("no row")
			}
		}
	})
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		var s scanner
		for i := 0; i < b.N; i++ {
			if r, _, ok := s.partialRow(raw); !ok || r.Name == "" {
				b.Fatal("no row")
			}
		}
	})
}

// FuzzPartialRow holds the one-pass reader to encoding/json.Valid's
// verdict and to what members read of the same row.
func FuzzPartialRow(f *testing.F) {
	for _, c := range partialCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkPartialRow)
}
