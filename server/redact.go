package server

import (
	"net/url"
	"strings"

	"github.com/shearch/shearch/api"
)

// RedactURL hides the credentials a shard URL may carry (a static shard
// behind a proxy that wants https://user:password@host): the user info
// becomes REDACTED and the query string is dropped. /v1/shards answers
// any reader, and a shard URL is the address Shearch's admin key signs
// for.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User == nil && u.RawQuery == "" {
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	u.RawQuery, u.ForceQuery = "", false
	return u.String()
}

// redactTopology redacts the URLs of GET /v1/shards, and any copy of a
// URL's user info in a shard's last error (an error message may quote
// the URL it failed on).
func redactTopology(v any) any {
	st, ok := v.(api.Topology)
	if !ok {
		return v
	}
	rows := make([]api.TopologyShard, len(st.Shards))
	for i, row := range st.Shards {
		if u, err := url.Parse(row.URL); err == nil && u.User != nil {
			if info := u.User.String(); info != "" {
				row.LastError = strings.ReplaceAll(row.LastError, info, "REDACTED")
				if p, ok := u.User.Password(); ok && p != "" {
					row.LastError = strings.ReplaceAll(row.LastError, p, "REDACTED")
				}
			}
		}
		row.URL = RedactURL(row.URL)
		rows[i] = row
	}
	st.Shards = rows
	return st
}
