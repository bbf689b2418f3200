// Package completion completes gnife command lines: subcommands and flags
// from the urfave/cli command tree, and node, role, environment, client
// and data bag names from Shearch, through a small file cache so that a
// slow or absent Shearch never hangs a shell.
package completion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Names returns the names under a Chef-compatible list path ("/nodes",
// "/data", "/data/users"); nil when they are not known.
type Names func(path string) []string

// positional says what each positional argument of a command is: a list
// path, or "@index" (a search index) or "@query" (a node search query).
// "{0}" in a path is the first positional argument.
var positional = map[string][]string{
	"node show":        {"/nodes"},
	"tag list":         {"/nodes"},
	"locate":           {"/nodes"},
	"role show":        {"/roles"},
	"environment show": {"/environments"},
	"client show":      {"/clients"},
	"data bag show":    {"/data", "/data/{0}"},
	"search":           {"@index", "@query"},
	"facets":           {"@index", "@query"},
	"rollout":          {"@query"},
	// environment compare takes any number of environments.
	"environment compare": {"/environments", "..."},
	"ssh":                 {"@query"},
	"status":              {"@query"},
	"completion":          {"@shell"},
}

// flagValues completes the values of flags whose values are known.
var flagValues = map[string]string{
	"environment": "/environments",
	"format":      "@format",
	"partial":     "@partial",
}

var fixed = map[string][]string{
	"@shell":   {"bash", "fish", "zsh"},
	"@format":  {"json", "pp", "summary", "text", "yaml"},
	"@partial": {"allow", "deny"},
	// The search indexes every Chef server has; data bags come from Shearch.
	"@index": {"client", "environment", "node", "role"},
}

// queryFields are the fields offered at the start of a query term, and the
// list each one's values come from.
var queryFields = []struct{ field, path string }{
	{"chef_environment:", "/environments"},
	{"name:", "/nodes"},
	{"role:", "/roles"},
	{"roles:", "/roles"},
	{"recipe:", ""},
	{"recipes:", ""},
	{"tags:", ""},
	{"platform:", ""},
	{"fqdn:", ""},
	{"ipaddress:", ""},
}

// Complete returns the candidates for the last of words (the word under
// the cursor, possibly empty); words[0] is the first word after the
// program name. Candidates are whole words that start with it, sorted.
func Complete(app *cli.App, words []string, names Names) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := dequote(words[len(words)-1])
	cmds, flags := app.Commands, app.Flags
	var path []string
	var args []string
	expectValue := ""
	for _, w := range words[:len(words)-1] {
		w = dequote(w)
		if expectValue != "" {
			expectValue = ""
			continue
		}
		if name, hasValue := flagWord(w); name != "" {
			if f := findFlag(flags, name); f != nil && takesValue(f) && !hasValue {
				expectValue = name
			}
			continue
		}
		if len(args) == 0 {
			if c := findVisible(cmds, w); c != nil {
				path = append(path, c.Name)
				cmds, flags = c.Subcommands, c.Flags
				continue
			}
		}
		args = append(args, w)
	}
	var cands []string
	switch {
	case expectValue != "":
		f := findFlag(flags, expectValue)
		cands = values(flagValues[f.Names()[0]], nil, names)
	case strings.HasPrefix(cur, "-"):
		for _, f := range flags {
			if hidden(f) {
				continue
			}
			for _, n := range f.Names() {
				if len(n) == 1 {
					cands = append(cands, "-"+n)
				} else {
					cands = append(cands, "--"+n)
				}
			}
		}
	case len(cmds) > 0 && len(args) == 0:
		for _, c := range cmds {
			if !c.Hidden {
				cands = append(cands, c.Name)
			}
		}
	default:
		kinds := positional[strings.Join(path, " ")]
		if len(kinds) > 0 && kinds[len(kinds)-1] == "..." {
			// Repeated: the kind before "..." for every later argument.
			kinds = kinds[:len(kinds)-1]
			for len(kinds) <= len(args) {
				kinds = append(kinds, kinds[len(kinds)-1])
			}
		}
		if len(args) < len(kinds) {
			if kinds[len(args)] == "@query" {
				return queryCandidates(cur, names)
			}
			cands = values(kinds[len(args)], args, names)
		}
	}
	return filter(cands, cur)
}

// values lists what kind stands for: fixed words or a list from Shearch.
func values(kind string, args []string, names Names) []string {
	switch {
	case kind == "":
		return nil
	case kind == "@index":
		return append(append([]string(nil), fixed[kind]...), names("/data")...)
	case strings.HasPrefix(kind, "@"):
		return fixed[kind]
	}
	if strings.Contains(kind, "{0}") {
		if len(args) == 0 {
			return nil
		}
		kind = strings.ReplaceAll(kind, "{0}", args[0])
	}
	return names(kind)
}

// queryCandidates completes the last term of a search query: a field
// name, or FIELD:VALUE for the fields whose values Shearch lists.
func queryCandidates(cur string, names Names) []string {
	cut := strings.LastIndexAny(cur, " (")
	head, term := cur[:cut+1], cur[cut+1:]
	for _, op := range []string{"-", "+", "!"} {
		if strings.HasPrefix(term, op) {
			head, term = head+op, term[len(op):]
		}
	}
	var cands []string
	field, _, hasColon := strings.Cut(term, ":")
	if !hasColon {
		for _, f := range queryFields {
			cands = append(cands, head+f.field)
		}
		return filter(cands, cur)
	}
	for _, f := range queryFields {
		if f.field == field+":" && f.path != "" {
			for _, n := range names(f.path) {
				cands = append(cands, head+f.field+n)
			}
		}
	}
	return filter(cands, cur)
}

func filter(cands []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// dequote drops the quotes a shell word was typed with: bash hands the
// raw text over, an open quote included.
func dequote(w string) string {
	if len(w) > 0 && (w[0] == '\'' || w[0] == '"') {
		q := w[0]
		w = w[1:]
		if len(w) > 0 && w[len(w)-1] == q {
			w = w[:len(w)-1]
		}
	}
	return w
}

func flagWord(w string) (name string, hasValue bool) {
	if len(w) < 2 || w[0] != '-' || w == "--" {
		return "", false
	}
	n, _, ok := strings.Cut(strings.TrimLeft(w, "-"), "=")
	return n, ok
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return true
}

func hidden(f cli.Flag) bool {
	if v, ok := f.(cli.VisibleFlag); ok {
		return !v.IsVisible()
	}
	return false
}

func findVisible(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if !c.Hidden && c.HasName(name) {
			return c
		}
	}
	return nil
}

// Lister fetches the names under a list path from Shearch.
type Lister func(ctx context.Context, path string) ([]string, error)

// Cache answers Names from a file under the user's cache directory while
// it is fresh, and asks Shearch otherwise, within a short timeout; when
// Shearch does not answer in time, stale names are better than none.
type Cache struct {
	// Key names what the lists belong to (Shearch's URL and the stack).
	Key     string
	List    Lister
	Dir     string        // default: os.UserCacheDir()/gnife
	TTL     time.Duration // default 60s
	Timeout time.Duration // default 1s
	Now     func() time.Time
}

type cacheEntry struct {
	At    time.Time `json:"at"`
	Names []string  `json:"names"`
}

// Names is Cache as a Names function.
func (c *Cache) Names(path string) []string {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl, timeout := c.TTL, c.Timeout
	if ttl == 0 {
		ttl = 60 * time.Second
	}
	if timeout == 0 {
		timeout = time.Second
	}
	file := c.file()
	entries := map[string]cacheEntry{}
	if file != "" {
		if b, err := os.ReadFile(file); err == nil {
			json.Unmarshal(b, &entries)
		}
	}
	e, cached := entries[path]
	if cached && now().Sub(e.At) < ttl && now().Sub(e.At) >= 0 {
		return e.Names
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got, err := c.List(ctx, path)
	if err != nil {
		return e.Names
	}
	entries[path] = cacheEntry{At: now(), Names: got}
	if file != "" {
		writeAtomic(file, entries)
	}
	return got
}

func (c *Cache) file() string {
	dir := c.Dir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "gnife")
	}
	sum := sha256.Sum256([]byte(c.Key))
	return filepath.Join(dir, "complete-"+hex.EncodeToString(sum[:6])+".json")
}

// writeAtomic replaces the file in one rename, so that two shells
// completing at once never read half a file.
func writeAtomic(file string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".complete-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
