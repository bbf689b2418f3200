// Package ui is Shearch's reporting page: one html/template page and a
// little plain JavaScript, embedded in the binary. The page calls the /v1
// API from the browser with the same bearer token as any client, so it
// needs no privilege of its own.
package ui

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed page.html static
var files embed.FS

var page = template.Must(template.ParseFS(files, "page.html"))

// csp lets the page load only its own script and styles and talk only to
// its own origin: nothing from outside, no inline script, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// view is the state a URL describes; the template fills the form with
// it, and the script runs it.
type view struct {
	Index, Q, Attrs, Facets, By, Stack, Shards, Rows, Cursor string
	RowChoices                                               []string
}

// pageSizes are offered for rows; a linked view's own size joins them.
var pageSizes = []string{"20", "50", "100", "500"}

// Handler serves the page at /ui/ and its assets at /ui/static/.
func Handler() http.Handler {
	static, _ := fs.Sub(files, "static")
	assets := http.StripPrefix("/ui/static/", http.FileServer(http.FS(static)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(r.URL.Path, "/ui/static/") {
			// Only a file's own clean path: http.FileServer would clean
			// an encoded ..%2F itself and list the folder.
			if p := r.URL.Path; path.Clean(p) != p {
				http.NotFound(w, r)
				return
			}
			h.Set("Cache-Control", "no-cache")
			assets.ServeHTTP(w, r)
			return
		}
		if r.URL.Path != "/ui/" {
			http.NotFound(w, r)
			return
		}
		v := r.URL.Query()
		st := view{Index: v.Get("index"), Q: v.Get("q"), Attrs: v.Get("attrs"), Facets: v.Get("facets"), By: v.Get("by"),
			Stack: v.Get("stack"), Shards: v.Get("shards"), Rows: v.Get("rows"), Cursor: v.Get("cursor")}
		if st.Index == "" {
			st.Index = "node"
		}
		if n, err := strconv.Atoi(st.Rows); err != nil || n < 1 || n > 10000 {
			st.Rows = "50"
		}
		st.RowChoices = pageSizes
		if !slices.Contains(pageSizes, st.Rows) {
			st.RowChoices = append([]string{st.Rows}, pageSizes...)
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		if err := page.Execute(w, st); err != nil {
			slog.Error("rendering /ui/", "err", err)
		}
	})
}
