// Package result holds the shapes of a federated search: the request and
// the merged answer. It imports nothing of the project, so the API client (and gnife)
// can use them without pulling in the engine and its shard clients.
package result

import (
	"bytes"
	"encoding/json"
	"time"
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
	// Deny turns a failed shard into an error instead of a partial answer.
	Deny bool
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

// Row is one merged hit.
type Row struct {
	Name   string `json:"name"`
	Shard  string `json:"shard"`
	Source string `json:"source"`
	URL    string `json:"url,omitempty"`
	// Data is the object (or partial-search hash) as the shard sent it:
	// raw JSON, so numbers keep their text (1794484758.0 stays so) and
	// nothing is decoded that is only passed on. Decode it with
	// Row.Object when a map is needed.
	Data json.RawMessage `json:"data"`
	// Ohai is the node's automatic.ohai_time as JSON number text, for the
	// engine's duplicate rule; never sent.
	Ohai string `json:"-"`
}

// Object decodes Data into a map, numbers kept as json.Number; nil when
// Data is empty or not an object.
func (r Row) Object() map[string]any {
	var m map[string]any
	if len(r.Data) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.Data))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

// Sources of a row.
const (
	SourceChef   = "chef"
	SourceConsul = "consul"
)

// ShardStatus is what one shard did for a request.
type ShardStatus struct {
	Name   string `json:"name"`
	Stack  string `json:"stack"`
	Status string `json:"status"` // ok, failed, fallback
	Rows   int    `json:"rows"`
	TookMS int64  `json:"took_ms"`
	Error  string `json:"error"`
	// Unchecked lists query fields the fallback could not evaluate.
	Unchecked []string `json:"unchecked,omitempty"`
	// FallbackRows counts rows that came from Consul for this shard.
	FallbackRows int `json:"fallback_rows,omitempty"`
}

// Shard statuses.
const (
	StatusOK       = "ok"
	StatusFailed   = "failed"
	StatusFallback = "fallback"
)

// ShardsSummary is the per-shard part of an answer.
type ShardsSummary struct {
	Total   int           `json:"total"`
	OK      int           `json:"ok"`
	Failed  int           `json:"failed"`
	Details []ShardStatus `json:"details"`
}

// FailedNames lists the shards that did not answer from Chef.
func (s ShardsSummary) FailedNames() []string {
	var out []string
	for _, d := range s.Details {
		if d.Status != StatusOK {
			out = append(out, d.Name)
		}
	}
	return out
}

// Duplicate is an object found on more than one shard.
type Duplicate struct {
	Name  string   `json:"name"`
	Kept  string   `json:"kept"`
	Stale []string `json:"stale"`
	// Differs is true when the copies are not identical (roles,
	// environments and data bags drift between shards).
	Differs bool `json:"differs,omitempty"`
}

// Result is a merged answer.
type Result struct {
	Total  int           `json:"total"`
	Start  int           `json:"start"`
	Rows   []Row         `json:"rows"`
	Shards ShardsSummary `json:"shards"`
	// Duplicates are those of this page's rows; DuplicatesTotal counts
	// them over the whole answer.
	Duplicates      []Duplicate `json:"duplicates"`
	DuplicatesTotal int         `json:"duplicates_total,omitempty"`
	Cached          bool        `json:"cached,omitempty"`
	// NextCursor, when set, fetches the page after this one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Error is a failure of the whole request, with the HTTP status the API
// should answer (400 bad query, 404 unknown index, 502 shards failed).
type Error struct {
	Status  int
	Message string
	// Shards, when known, says which shards failed, for the headers.
	Shards *ShardsSummary
	// RetryAfter, for a request shed under load (429/503), is when to
	// try again; the API sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// AppendJSON appends the row as one line of JSON with no newline in it,
// as json.Encoder would write it (HTML left unescaped), without going
// through reflection: a stream writes hundreds of thousands of rows.
func (r Row) AppendJSON(b []byte) []byte {
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
