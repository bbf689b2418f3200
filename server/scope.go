package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/shards"
)

// A Chef signature covers the method, the path and the body, never the
// query string. A write's stack and shard, which decide where it lands,
// must therefore come from a signed place when the caller is Chef-signed:
// the path, /stacks/{stack}/... (knife's chef_server_url can end in
// /stacks/dev/organizations/acme), or a repair's body. scope turns such a
// path into the route it prefixes, with stack= (and shard=) set in the
// query for the handlers, and remembers which of them the caller put in
// the query string itself.

// requestScope is where a request's stack and shard came from.
type requestScope struct {
	// stack and shard are the path's, "" when the path names none.
	stack, shard string
	// queryStack and queryShard say the query string, unsigned, set them.
	queryStack, queryShard bool
}

type scopeKey struct{}

func scopeOf(r *http.Request) requestScope {
	sc, _ := r.Context().Value(scopeKey{}).(requestScope)
	return sc
}

// stacksPrefix is the path form of a stack: /stacks/{stack}[/shards/{shard}]/REST.
const stacksPrefix = "/stacks/"

// scope strips /stacks/{stack}[/shards/{shard}] off the path and returns
// the request for REST with the stack (and shard) in its query, or
// answers 400 itself and returns false.
func (s *Server) scope(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	q := r.URL.Query()
	sc := requestScope{queryStack: q.Has("stack"), queryShard: q.Has("shard")}
	esc := r.URL.EscapedPath()
	if !strings.HasPrefix(esc, stacksPrefix) {
		return r.WithContext(context.WithValue(r.Context(), scopeKey{}, sc)), true
	}
	bad := func(format string, a ...any) (*http.Request, bool) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(format, a...))
		return nil, false
	}
	segs := strings.SplitN(strings.TrimPrefix(esc, stacksPrefix), "/", 2)
	var err error
	if sc.stack, err = url.PathUnescape(segs[0]); err != nil || sc.stack == "" {
		return bad("path %q: want /stacks/STACK/... with a stack name", esc)
	}
	if err := shards.CheckStack(sc.stack, nil); err != nil {
		return bad("path /stacks/%s/: %v", segs[0], err)
	}
	rest := "/"
	if len(segs) == 2 {
		rest += segs[1]
	}
	if strings.HasPrefix(rest, "/shards/") {
		segs = strings.SplitN(strings.TrimPrefix(rest, "/shards/"), "/", 2)
		if sc.shard, err = url.PathUnescape(segs[0]); err != nil || shards.CheckName(shards.Nodes, sc.shard) != nil {
			return bad("path /stacks/%s/shards/%s/: a shard name is letters, digits, '.', '_', '-' and ':'", sc.stack, segs[0])
		}
		rest = "/"
		if len(segs) == 2 {
			rest += segs[1]
		}
		if !nodeObjectPath(r.Method, rest) {
			return bad("a shard in the path (/stacks/%s/shards/%s/) only picks the copy of a node that PUT or DELETE /nodes/NAME changes", sc.stack, sc.shard)
		}
	}
	if sc.queryStack && q.Get("stack") != sc.stack {
		return bad("the path names stack %s and the query stack=%s: name it once, in the path", sc.stack, q.Get("stack"))
	}
	if sc.shard != "" && sc.queryShard && q.Get("shard") != sc.shard {
		return bad("the path names shard %s and the query shard=%s: name it once, in the path", sc.shard, q.Get("shard"))
	}
	q.Set("stack", sc.stack)
	if sc.shard != "" {
		q.Set("shard", sc.shard)
	}
	u := *r.URL
	u.RawQuery = q.Encode()
	if u.Path, err = url.PathUnescape(rest); err != nil {
		return bad("path %q does not decode: %v", esc, err)
	}
	u.RawPath = rest
	r2 := r.WithContext(context.WithValue(r.Context(), scopeKey{}, sc))
	r2.URL = &u
	return r2, true
}

// nodeObjectPath is PUT or DELETE of /nodes/NAME, with or without the
// organization prefix: the writes that ?shard= or a path shard steers.
func nodeObjectPath(method, p string) bool {
	if method != http.MethodPut && method != http.MethodDelete {
		return false
	}
	if strings.HasPrefix(p, "/organizations/") {
		parts := strings.SplitN(strings.TrimPrefix(p, "/organizations/"), "/", 2)
		if len(parts) < 2 {
			return false
		}
		p = "/" + parts[1]
	}
	name, ok := strings.CutPrefix(p, "/nodes/")
	return ok && name != "" && !strings.Contains(name, "/")
}

// unsignedTarget refuses a Chef-signed write that takes its stack or
// shard from the query string: the signature does not cover it, so
// whoever saw the request could send it again to another stack.
func unsignedTarget(r *http.Request, c auth.Caller) error {
	if c.Method != "chef" {
		return nil
	}
	sc := scopeOf(r)
	var what []string
	if sc.queryStack && sc.stack == "" {
		what = append(what, "?stack=")
	}
	if sc.queryShard && sc.shard == "" {
		what = append(what, "?shard=")
	}
	if len(what) == 0 {
		return nil
	}
	return fmt.Errorf("%s is not covered by a Chef request signature, so a Chef-signed write does not take it: "+
		"put the stack in the path, /stacks/STACK/... (for knife, chef_server_url https://SHEARCH/stacks/STACK/organizations/ORG), "+
		"a node's shard as /stacks/STACK/shards/SHARD/nodes/NAME, and a repair's stack in its body, {\"stack\": \"STACK\", \"actions\": [...]}",
		strings.Join(what, " and "))
}
