package facets

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Facets count over a stream, not over shards: the package doc's
// promise, kept by a test.
func TestImportsNoEngine(t *testing.T) {
	forbidden := []string{"net/http", "github.com/shearch/shearch/shards", "github.com/shearch/shearch/search"}
	checkImports(t, forbidden, "github.com/shearch/shearch/search/result")
}

// checkImports fails for a non-test file of the package that imports a
// forbidden path or one under it, other than allowed.
func checkImports(t *testing.T, forbidden []string, allowed string) {
	t.Helper()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, bad := range forbidden {
				if p != allowed && (p == bad || strings.HasPrefix(p, bad+"/")) {
					t.Errorf("%s imports %s", f.Name(), p)
				}
			}
		}
	}
}
