package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server/ui"
)

// MaxFacetValues caps the max_values a facet request may ask for.
const MaxFacetValues = 100000

// reportRoutes adds the fleet-reporting routes: facets, whole-result
// downloads and the web page.
func (s *Server) reportRoutes() {
	s.mux.HandleFunc("GET /v1/facets/{index}", s.facets)
	s.mux.HandleFunc("GET /v1/export/{index}", s.export)
	s.rolloutRoutes()
	page := ui.Handler()
	s.mux.Handle("GET /ui/", page)
	s.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
}

// facets answers GET /v1/facets/{index}?q=&attr=PATH&attr=PATH.
func (s *Server) facets(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseSearch(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	fr := facets.Request{Request: req, Attrs: r.URL.Query()["attr"], By: r.URL.Query().Get("by")}
	if mv := r.URL.Query().Get("max_values"); mv != "" {
		n, err := strconv.Atoi(mv)
		if err != nil || n < 1 || n > MaxFacetValues {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("max_values=%q: must be an integer from 1 to %d", mv, MaxFacetValues))
			return
		}
		fr.MaxValues = n
	}
	res, err := facets.Count(r.Context(), s.Engine, s.Facets, fr)
	if err != nil {
		s.fail(w, err)
		return
	}
	setShardHeaders(w, res.Shards)
	writeJSON(w, http.StatusOK, res)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// export streams a whole result as a download: GET
// /v1/export/{index}?q=&attr=PATH&format=csv|ndjson. Only the asked
// attributes travel from the shards (a partial search), and rows are
// written as they are emitted.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseSearch(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	attrs := r.URL.Query()["attr"]
	if len(attrs) > facets.MaxAttrs {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d attributes asked: at most %d per request", len(attrs), facets.MaxAttrs))
		return
	}
	// An empty partial body still makes it a partial search: names only,
	// never whole objects.
	if req.Partial, err = facets.PartialFor(attrs); err != nil {
		s.fail(w, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	file := "shearch-" + unsafeFileChars.ReplaceAllString(req.Index, "_")
	switch format {
	case "ndjson":
		w.Header().Set("Content-Disposition", `attachment; filename="`+file+`.ndjson"`)
		s.stream(w, r, req)
	case "csv":
		w.Header().Set("Content-Disposition", `attachment; filename="`+file+`.csv"`)
		s.streamCSV(w, r, req, attrs)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format=%s: use csv or ndjson", format))
	}
}

// csvCell keeps a spreadsheet from reading a cell as a formula: a node
// sets its own attributes, and a note of =HYPERLINK(...) would run in
// whoever opens the export. As OWASP advises, a cell that starts with
// = + - @, a tab or a carriage return gets a leading ' (so a negative
// number reads '-5: text, shown as -5 by the spreadsheet).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// streamCSV writes a header row (name, shard, source, then each
// attribute), then one row per result row as the engine emits it.
func (s *Server) streamCSV(w http.ResponseWriter, r *http.Request, req search.Request, attrs []string) {
	cw := csv.NewWriter(w)
	flusher, _ := w.(http.Flusher)
	started := false
	start := func() {
		if started {
			return
		}
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		head := append([]string{"name", "shard", "source"}, attrs...)
		for i := range head {
			head[i] = csvCell(head[i])
		}
		cw.Write(head)
	}
	n := 0
	rec := make([]string, 3+len(attrs))
	_, err := s.Engine.Stream(r.Context(), req, func(sum search.ShardsSummary) { setShardHeaders(w, sum) }, func(row search.Row) error {
		start()
		rec[0], rec[1], rec[2] = csvCell(row.Name), csvCell(row.Shard), csvCell(row.Source)
		data := row.Object() // a partial row: a few keys
		for i, a := range attrs {
			rec[3+i] = csvCell(facets.CellText(data[a]))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n++; n%100 == 0 {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
		}
		return cw.Error()
	})
	if err != nil && !started {
		s.fail(w, err)
		return
	}
	start()
	cw.Flush()
	if err != nil {
		// CSV has no place for an error after its rows began: break the
		// connection so the download fails visibly instead of ending
		// short. net/http recovers this sentinel without logging a crash.
		s.Log.Error("csv export failed mid-stream", "index", req.Index, "err", err)
		panic(http.ErrAbortHandler)
	}
}
