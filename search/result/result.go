// Package result holds the engine's request and names the
// answers' wire types, which the api module declares.
package result

import (
	"bytes"
	"encoding/json"

	"github.com/shearch/shearch/api"
)

// Request is one federated search.
type Request struct {
	Index string
	Query string
	Start int
	// Rows is the page size; 0 means Chef's default of 1000.
	Rows  int
	Stack string
	// Shards, when set, limits the fan-out to these shard names.
	Shards []string
	// Partial is a partial-search body (key -> attribute path); nil for
	// whole objects.
	Partial map[string][]string
	// PartialDeny is partial=deny: a failed shard makes the request an
	// error instead of a partial answer.
	PartialDeny bool
	// Cursor continues a walk where the previous page ended (its
	// NextCursor); Start is then ignored.
	Cursor string
	// Order "none" streams rows as the shards deliver them, with no
	// global sort (NDJSON only); "" or "name" is the merged name order.
	Order string
}

// Orders of a streamed answer.
const (
	OrderName = "name"
	OrderNone = "none"
)

// The answers' shapes are the client's wire types, declared once in the
// api module; the engine refers to them by these names.
type (
	Row           = api.Row
	ShardStatus   = api.ShardStatus
	ShardsSummary = api.ShardSummary
	Duplicate     = api.Duplicate
	Result        = api.Result
)

// Sources of a row and shard statuses.
const (
	SourceChef     = api.SourceChef
	SourceConsul   = api.SourceConsul
	StatusOK       = api.StatusOK
	StatusFailed   = api.StatusFailed
	StatusFallback = api.StatusFallback
)

// AppendRow appends the row as one line of JSON with no newline in it,
// as json.Encoder would write it (HTML left unescaped), without going
// through reflection: a stream writes hundreds of thousands of rows.
func AppendRow(b []byte, r Row) []byte {
	b = append(b, `{"name":`...)
	b = AppendJSONString(b, r.Name)
	b = append(b, `,"shard":`...)
	b = AppendJSONString(b, r.Shard)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, r.Source)
	if r.URL != "" {
		b = append(b, `,"url":`...)
		b = AppendJSONString(b, r.URL)
	}
	b = append(b, `,"data":`...)
	b = AppendRawJSON(b, r.Data)
	return append(b, '}')
}

// AppendRawJSON appends raw JSON on one line: null when empty, compacted
// only when it holds a line break (which no JSON string can).
func AppendRawJSON(b []byte, raw json.RawMessage) []byte {
	switch {
	case len(raw) == 0:
		return append(b, "null"...)
	case bytes.IndexAny(raw, "\r\n") >= 0:
		var c bytes.Buffer
		if json.Compact(&c, raw) != nil {
			return append(b, "null"...)
		}
		return append(b, c.Bytes()...)
	}
	return append(b, raw...)
}

// AppendJSONString appends s as a JSON string.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
