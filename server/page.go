package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/search/result"
)

// writeResult writes a native search answer as writeJSON would, byte for
// byte, but a row at a time: encoding/json builds the whole answer in one
// buffer before writing it, a second copy of a page already held (up to
// search.max_page_bytes).
func writeResult(w http.ResponseWriter, status int, res *search.Result) {
	if res.Rows == nil {
		writeJSON(w, status, res)
		return
	}
	// Everything but the rows is small: encoding/json writes it, so the
	// answer keeps the struct's shape whatever fields it gains. Its rows
	// come first, as "rows":null; the rows are written in their place.
	rest := *res
	rest.Rows = nil
	var tail bytes.Buffer
	enc := json.NewEncoder(&tail)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&rest); err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	head := fmt.Appendf(nil, `{"total":%d,"start":%d,"rows":`, res.Total, res.Start)
	after, ok := bytes.CutPrefix(tail.Bytes(), append(head, "null"...))
	if !ok {
		writeJSON(w, status, res) // the shape changed: correct first
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := append(append(make([]byte, 0, 64<<10), head...), '[')
	for i, row := range res.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = result.AppendRow(b, row)
		if len(b) >= 64<<10 {
			if _, err := w.Write(b); err != nil {
				return
			}
			b = b[:0]
		}
	}
	b = append(append(b, ']'), after...)
	w.Write(b)
}
