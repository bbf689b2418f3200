package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shearch/shearch/search"
)

// A native page written a row at a time is, byte for byte, what
// writeJSON wrote: same keys, order, escaping and line end.
func TestWriteResultAsWriteJSON(t *testing.T) {
	big := strings.Repeat("x", 70<<10) // past one 64 KiB write
	for _, res := range []*search.Result{
		{Total: 3, Start: 1, Rows: []search.Row{
			{Name: "web-1", Shard: "chef-1", Source: "chef", Data: json.RawMessage(`{"a":"<b>&","n":1.50}`)},
			{Name: "wéb\"2", Shard: "chef-2", Source: "consul", URL: "http://x/nodes/w%C3%A9b", Data: json.RawMessage("{\n \"big\": \"" + big + "\"\n}")},
			{Name: "nil-data", Shard: "chef-1", Source: "chef"},
		}, Shards: search.ShardsSummary{Total: 2, OK: 1, Failed: 1, Details: []search.ShardStatus{{Name: "chef-2", Status: "failed", Error: "<html> & co"}}},
			Duplicates: []search.Duplicate{{Name: "web-1", Kept: "chef-1", Stale: []string{"chef-2"}}}, DuplicatesTotal: 4, Cached: true, NextCursor: "abc"},
		{Rows: []search.Row{}, Duplicates: []search.Duplicate{}},
		{Total: 1},
	} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSON(want, 200, res)
		writeResult(got, 200, res)
		if got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("writeResult:\n%.300s\nwriteJSON:\n%.300s", got.Body, want.Body)
		}
	}
}
