package fanout

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The fan-out knows shards, never HTTP answers or the engine that reads
// its answers: the package doc's promise, kept by a test.
func TestImportsNoEngine(t *testing.T) {
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
			if p == "net/http" || p == "github.com/shearch/shearch/search" || strings.HasPrefix(p, "github.com/shearch/shearch/search/") {
				t.Errorf("%s imports %s", f.Name(), p)
			}
		}
	}
}
