package engine

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEnginePackagesImports keeps each engine package's doc promise of
// what it never imports: no engine package speaks HTTP; writes and drift
// reach the read engine only through the interface they declare; the
// fan-out knows shards and not the engine; the sort and the facets know
// rows and not where they come from.
func TestEnginePackagesImports(t *testing.T) {
	const mod = "github.com/shearch/shearch/"
	// allowed is under a banned path and may be imported all the same.
	const allowed = mod + "search/result"
	for dir, banned := range map[string][]string{
		"../../search": {"net/http", mod + "server", mod + "internal/writes", mod + "internal/drift"},
		"../writes":    {"net/http", mod + "server", mod + "search"},
		"../drift":     {"net/http", mod + "server", mod + "search"},
		"../flight":    {"net/http", mod + "shards", mod + "search"},
		"../fanout":    {"net/http", mod + "search"},
		"../extsort":   {"net/http", mod + "shards", mod + "search"},
		"../facets":    {"net/http", mod + "shards", mod + "search"},
		".":            {"net/http", mod + "server"},
	} {
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
				continue
			}
			name := filepath.Join(dir, f.Name())
			af, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range af.Imports {
				p, _ := strconv.Unquote(im.Path.Value)
				for _, b := range banned {
					if p != allowed && (p == b || strings.HasPrefix(p, b+"/")) {
						t.Errorf("%s imports %s", name, p)
					}
				}
			}
		}
	}
}
