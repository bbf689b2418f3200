package result

import (
	"bytes"
	"encoding/json"
	"testing"
)

// A row written by hand reads back as the same row.
func TestAppendJSON(t *testing.T) {
	for _, r := range []Row{
		{Name: "web-1", Shard: "s1", Source: SourceChef, Data: json.RawMessage(`{"a": 1.0,
 "b": "x"}`)},
		{Name: `odd "name" é`, Shard: "s2", Source: SourceConsul, URL: "http://h/nodes/a%20b"},
	} {
		line := AppendRow(nil, r)
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("newline in %s", line)
		}
		var back Row
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		want, _ := json.Marshal(r)
		got, _ := json.Marshal(back)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}
