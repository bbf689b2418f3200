package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

func jsonMarshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Bytes(), err
}

// TestParseSearch is how query parameters and a partial-search body
// become the engine's request, on both the native and the Chef paths.
func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, body string
		header                     []string
		want                       search.Request
	}{
		{name: "no q is every object", method: "GET", target: "/v1/search/node",
			want: search.Request{Index: "node", Query: "*:*"}},
		{name: "paging and stack", method: "GET", target: "/v1/search/node?q=role:web&start=20&rows=10&stack=stage",
			want: search.Request{Index: "node", Query: "role:web", Start: 20, Rows: 10, Stack: "stage"}},
		{name: "cursor and shards", method: "GET", target: "/v1/search/role?cursor=abc_-&shards=chef-2,chef-1",
			want: search.Request{Index: "role", Query: "*:*", Cursor: "abc_-", Shards: []string{"chef-2", "chef-1"}}},
		{name: "partial=allow", method: "GET", target: "/v1/search/node?partial=allow",
			want: search.Request{Index: "node", Query: "*:*"}},
		{name: "partial=deny", method: "GET", target: "/v1/search/node?partial=deny",
			want: search.Request{Index: "node", Query: "*:*", PartialDeny: true}},
		{name: "order=name on a page", method: "GET", target: "/v1/search/node?order=name",
			want: search.Request{Index: "node", Query: "*:*", Order: "name"}},
		{name: "order=none on a stream", method: "GET", target: "/v1/search/node?order=none", header: []string{"Accept", "application/x-ndjson"},
			want: search.Request{Index: "node", Query: "*:*", Order: "none"}},
		{name: "native q is taken as sent", method: "GET", target: "/v1/search/node?q=role%253Aweb",
			want: search.Request{Index: "node", Query: "role%3Aweb"}},
		{name: "Chef q is decoded once more, as Chef Server does", method: "GET", target: "/search/node?q=role%253Aweb",
			want: search.Request{Index: "node", Query: "role:web"}},
		{name: "Chef q that does not decode stays", method: "GET", target: "/search/node?q=name%3A100%25",
			want: search.Request{Index: "node", Query: "name:100%"}},
		{name: "organization path", method: "GET", target: "/organizations/acme/search/client?rows=0",
			want: search.Request{Index: "client", Query: "*:*"}},
		{name: "partial search body", method: "POST", target: "/search/node?q=*:*", body: `{"ip":["ipaddress"],"k":["a","b"]}`,
			want: search.Request{Index: "node", Query: "*:*", Partial: map[string][]string{"ip": {"ipaddress"}, "k": {"a", "b"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEngine{}
			w := call(fakeServer(f), tc.method, tc.target, tc.body, tc.header...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
			}
			if got := f.request(t); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("engine asked\n %#v\nwant\n %#v", got, tc.want)
			}
		})
	}
}

// TestParseSearchRefusals pins the exact 400 (and 413) texts a caller
// gets for a request the engine is never asked.
func TestParseSearchRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, body string
		header                     []string
		status                     int
		msg                        string
	}{
		{"empty q", "GET", "/v1/search/node?q=", "", nil, 400,
			"the q parameter is empty: give a query such as *:* or role:web"},
		{"empty q, Chef", "GET", "/search/node?q=", "", nil, 400,
			"the q parameter is empty: give a query such as *:* or role:web"},
		{"negative start", "GET", "/v1/search/node?start=-1", "", nil, 400,
			`start="-1": must be a non-negative integer`},
		{"rows not a number", "GET", "/search/node?rows=ten", "", nil, 400,
			`rows="ten": must be a non-negative integer`},
		{"rows past int", "GET", "/v1/search/node?rows=99999999999999999999", "", nil, 400,
			`rows="99999999999999999999": must be a non-negative integer`},
		{"partial neither allow nor deny", "GET", "/v1/search/node?partial=maybe", "", nil, 400,
			"partial=maybe: use allow or deny"},
		{"order on a page", "GET", "/v1/search/node?order=none", "", nil, 400,
			"order=none is for streams only: send Accept: application/x-ndjson, or leave order out"},
		{"unknown order on a page", "GET", "/v1/search/node?order=size", "", nil, 400,
			"order=size is for streams only: send Accept: application/x-ndjson, or leave order out"},
		{"body not JSON", "POST", "/search/node", "ipaddress", nil, 400,
			"partial search body must be a JSON object of key -> [attribute path]: invalid character 'i' looking for beginning of value"},
		{"body of the wrong shape", "POST", "/v1/search/node", `{"ip":"ipaddress"}`, nil, 400,
			"partial search body must be a JSON object of key -> [attribute path]: json: cannot unmarshal string into Go value of type []string"},
		{"query over the limit", "GET", "/v1/search/node?q=" + strings.Repeat("a", 65), "", nil, 400,
			"the query is 65 bytes, over the 64 bytes limit (search.max_query_bytes): narrow it"},
		{"body over the limit", "POST", "/v1/search/node", `{"k":["` + strings.Repeat("a", 200) + `"]}`, nil, 413,
			"request body over the 128 bytes limit (server.max_body_bytes)"},
		{"bad organization", "GET", "/organizations/Bad%20Org/search/node", "", nil, 400,
			`invalid organization name "Bad Org": Chef organization names are 1-255 characters of lower-case letters, digits, _ - (starting with a letter or digit) (and never . or ..)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEngine{}
			s := fakeServer(f, func(s *server.Server) { s.Limits.MaxQueryBytes, s.Limits.MaxBodyBytes = 64, 128 })
			w := call(s, tc.method, tc.target, tc.body, tc.header...)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if want := chefError(tc.msg); w.Body.String() != want {
				t.Errorf("body\n %s\nwant\n %s", w.Body, want)
			}
			if len(f.got) != 0 {
				t.Errorf("the engine was asked %+v; a refused request must not reach it", f.got)
			}
		})
	}
}
