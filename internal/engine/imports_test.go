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
// what it never imports: no engine package speaks HTTP, and writes and
// drift reach the read engine only through the interface they declare.
func TestEnginePackagesImports(t *testing.T) {
	const mod = "github.com/shearch/shearch/"
	for dir, banned := range map[string][]string{
		"../../search": {"net/http", mod + "server", mod + "internal/writes"},
		"../writes":    {"net/http", mod + "server", mod + "search"},
		"../drift":     {"net/http", mod + "server", mod + "search"},
		"../flight":    {"net/http", mod + "shards", mod + "search"},
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
					if p == b || strings.HasPrefix(p, b+"/") {
						t.Errorf("%s imports %s", name, p)
					}
				}
			}
		}
	}
}
