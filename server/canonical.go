package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// uncleanPath reports a request path, as sent on the wire, with a . or ..
// segment or an empty one (//). net/http's mux would answer those with a
// redirect to the cleaned path, which for a write (307) has the client
// send the same body with its token to a path it did not ask for; and a
// Chef-signed request signs the path it names. Shearch holds admin keys
// for every shard, so it takes no detours: such a path is a 400.
// Encoded dots (%2e) are left to the name checks, which refuse them.
func uncleanPath(escaped string) bool {
	if escaped == "" || escaped == "*" {
		return false
	}
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." || seg == "" && i < len(segs)-1 {
			return true
		}
	}
	return false
}

// refuseUncleanPath answers 400 for an unclean path, and for a query
// string net/url cannot parse whole: r.URL.Query() silently drops a bad
// pair (a ; or a stray %), so ?stack=dev;x would write to the default
// stack instead of dev.
func refuseUncleanPath(w http.ResponseWriter, r *http.Request) bool {
	if uncleanPath(r.URL.EscapedPath()) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("path %q has a . or .. segment or repeated slashes: send the object's own path, such as /nodes/NAME", r.URL.EscapedPath()))
		return true
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the query string does not parse (%v): escape ; %% & = in parameter values", err))
		return true
	}
	return false
}
