package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/auth"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/query"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

const chromiumPath = "/usr/bin/chromium"

// markup is what an attribute may hold; the page must show it as text.
const markup = `<img src=x onerror=alert(1)>`

// browser starts headless Debian chromium; a missing chromium fails the
// test (make deps installs it).
func browser(t *testing.T) (context.Context, *atomic.Int32) {
	t.Helper()
	integration.Needs(t, "chromium")
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless chromium is needed at %s: run make deps (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	// Any alert, confirm or prompt means script ran that should not have.
	dialogs := &atomic.Int32{}
	opening := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range opening {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	tctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return tctx, dialogs
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitDone waits for the page's searches to settle and fails on an error
// the page shows.
func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="done"], body[data-state="error"]`)))
	if state := eval[string](t, ctx, `document.body.dataset.state`); state != "done" {
		t.Fatalf("the page shows an error: %s", eval[string](t, ctx, `document.getElementById("error").textContent`))
	}
}

func cellsOf(t *testing.T, ctx context.Context, selector string) [][]string {
	t.Helper()
	return eval[[][]string](t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(tr => Array.from(tr.cells).map(td => td.textContent))`, selector))
}

// The page, in headless chromium over 3 goiardi shards: role:web with
// the ipaddress column shows the API's rows and shard status, the
// platform facet bars show the API's counts, and an attribute holding
// markup stays text.
func TestUIInChromium(t *testing.T) {
	integration.Needs(t, "goiardi and chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	evil := "markup-01.prod.example.com"
	fx.Nodes = append(fx.Nodes, devfleet.Object{
		"name": evil, "chef_environment": "prod", "json_class": "Chef::Node", "chef_type": "node",
		"run_list": []any{"role[web]"}, "normal": map[string]any{"tags": []any{markup}}, "default": map[string]any{}, "override": map[string]any{},
		"automatic": map[string]any{"ipaddress": markup, "platform": "debian", "roles": []any{"web", "base"}, "recipes": []any{"nginx"},
			"fqdn": evil, "ohai_time": time.Now().Unix()},
	})
	f, err := fleettest.Start(ctx, 3, fx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, dialogs := browser(t)

	// role:web with the ipaddress column, against the API.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=role:web&attrs=ipaddress"))
	waitDone(t, b)
	res, err := f.Client.Search(ctx, "node", "role:web", &api.SearchOptions{Rows: 50, Partial: map[string][]string{"ipaddress": {"ipaddress"}}, AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, r := range res.Rows {
		want = append(want, []string{r.Name, r.Shard, r.Source, facets.CellText(r.Object()["ipaddress"])})
	}
	got := cellsOf(t, b, "#rows-table tbody tr")
	if len(want) < 4 || !reflect.DeepEqual(got, want) {
		t.Errorf("table rows:\n got %q\nwant %q", got, want)
	}
	var wantShards [][]string
	for _, d := range res.Shards.Details {
		wantShards = append(wantShards, []string{d.Name, d.Status, strconv.Itoa(d.Rows), strconv.Itoa(d.FallbackRows), d.Error})
	}
	var gotShards [][]string
	for _, c := range cellsOf(t, b, "#shards-table tbody tr") {
		if len(c) != 6 || !strings.HasSuffix(c[4], " ms") {
			t.Fatalf("shard status row %q: want shard, status, rows, from consul, took, why", c)
		}
		gotShards = append(gotShards, []string{c[0], c[1], c[2], c[3], c[5]})
	}
	if len(wantShards) != 3 || !reflect.DeepEqual(gotShards, wantShards) {
		t.Errorf("shard status:\n got %q\nwant %q", gotShards, wantShards)
	}

	// The platform facet bars, opened from the form, against the API.
	do(t, b, chromedp.SetValue(chromedp.ID("facets"), "platform"), chromedp.Click(chromedp.ID("run")),
		chromedp.WaitVisible(chromedp.CSS(`#facet-list [data-facet="platform"]`)))
	waitDone(t, b)
	fres, err := f.Client.Facets(ctx, "node", "role:web", []string{"platform"}, &api.FacetOptions{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	var wantBars []string
	for _, v := range fres.Facets["platform"].SortedValues() {
		n := fres.Facets["platform"].Values[v]
		wantBars = append(wantBars, fmt.Sprintf("%s %d %.1f%%", v, n, 100*float64(n)/float64(fres.Total)))
	}
	if m := fres.Facets["platform"].Missing; m > 0 {
		wantBars = append(wantBars, fmt.Sprintf("(missing) %d %.1f%%", m, 100*float64(m)/float64(fres.Total)))
	}
	var gotBars []string
	for _, c := range cellsOf(t, b, `#facet-list [data-facet="platform"] tr`) {
		gotBars = append(gotBars, c[0]+" "+c[2]+" "+c[3])
	}
	if len(wantBars) < 2 || !reflect.DeepEqual(gotBars, wantBars) {
		t.Errorf("platform bars:\n got %q\nwant %q", gotBars, wantBars)
	}
	loc := eval[string](t, b, `location.pathname + location.search`)
	if !strings.Contains(loc, "facets=platform") || !strings.Contains(loc, "q=role%3Aweb") {
		t.Errorf("the URL %q does not reproduce the view", loc)
	}

	// The node whose attributes hold markup: its row and its facet bars
	// show the markup as text, and no element or script came of it.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=name:markup-01*&attrs=ipaddress,tags,platform&facets=ipaddress,tags"))
	waitDone(t, b)
	do(t, b, chromedp.WaitVisible(chromedp.CSS(`#facet-list [data-facet="tags"]`)))
	rows := cellsOf(t, b, "#rows-table tbody tr")
	if len(rows) != 1 || rows[0][0] != evil || rows[0][3] != markup || rows[0][4] != `["`+markup+`"]` {
		t.Errorf("markup row: %q; want the markup as text", rows)
	}
	bars := cellsOf(t, b, `#facet-list [data-facet="ipaddress"] tr`)
	if len(bars) != 1 || bars[0][0] != markup {
		t.Errorf("markup facet bar: %q", bars)
	}
	imgs := eval[int](t, b, `document.querySelectorAll("img").length`)
	if imgs != 0 || dialogs.Load() != 0 {
		t.Errorf("markup became page content: %d img elements, %d dialogs", imgs, dialogs.Load())
	}

	// Paging by cursor, 5 rows a page: Next to the end gives the API's
	// cursor walk, and Previous goes back one page.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=*:*&rows=5"))
	waitDone(t, b)
	var pages [][]string
	for len(pages) < 10 {
		var names []string
		for _, c := range cellsOf(t, b, "#rows-table tbody tr") {
			names = append(names, c[0])
		}
		pages = append(pages, names)
		if eval[bool](t, b, `document.getElementById("next").disabled`) {
			break
		}
		do(t, b, chromedp.Click(chromedp.ID("next")))
		waitDone(t, b)
	}
	var apiPages [][]string
	for req := (&api.SearchOptions{Rows: 5}); len(apiPages) < 10; {
		res, err := f.Client.Search(ctx, "node", "*:*", req)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range res.Rows {
			names = append(names, r.Name)
		}
		apiPages = append(apiPages, names)
		if req.Cursor = res.NextCursor; req.Cursor == "" {
			break
		}
	}
	if len(apiPages) < 3 || !reflect.DeepEqual(pages, apiPages) {
		t.Errorf("pages by cursor:\n got %q\nwant %q", pages, apiPages)
	}
	if loc := eval[string](t, b, `location.search`); !strings.Contains(loc, "cursor=") {
		t.Errorf("the URL %q of a later page has no cursor", loc)
	}
	do(t, b, chromedp.Click(chromedp.ID("prev")))
	waitDone(t, b)
	if got := eval[[]string](t, b, `Array.from(document.querySelectorAll("#rows-table tbody td.name")).map(td => td.textContent)`); len(pages) > 1 && !reflect.DeepEqual(got, pages[len(pages)-2]) {
		t.Errorf("Previous page shows %q, want %q", got, pages[len(pages)-2])
	}

	// A shard down: the status names it, says why, and the rows of the
	// others stay.
	f.Cluster.Shards[2].Stop()
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=role:web&attrs=ipaddress"))
	waitDone(t, b)
	res, err = f.Client.Search(ctx, "node", "role:web", &api.SearchOptions{Rows: 50, Partial: map[string][]string{"ipaddress": {"ipaddress"}}, AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	down := cellsOf(t, b, `#shards-table tbody tr[data-shard="chef-3"]`)
	var apiDown search.ShardStatus
	for _, d := range res.Shards.Details {
		if d.Name == "chef-3" {
			apiDown = d
		}
	}
	if len(down) != 1 || apiDown.Status != search.StatusFailed || down[0][1] != apiDown.Status || down[0][5] != apiDown.Error || apiDown.Error == "" {
		t.Errorf("the stopped shard shows %q; the API says %+v", down, apiDown)
	}
	if n := len(cellsOf(t, b, "#rows-table tbody tr")); n != len(res.Rows) || n < 4 {
		t.Errorf("with chef-3 down the page shows %d rows, the API %d", n, len(res.Rows))
	}

	// With a fallback the stopped shard's rows come from Consul: the page
	// marks those rows and counts them in the shard's status. The stub
	// stands in for Consul only to show the page's rendering; the real
	// fallback is tested against a consul agent in package fallback.
	f.Engine.Fallback = consulStub{}
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=role:web&attrs=ipaddress"))
	waitDone(t, b)
	res, err = f.Client.Search(ctx, "node", "role:web", &api.SearchOptions{Rows: 50, Partial: map[string][]string{"ipaddress": {"ipaddress"}}, AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	var wantConsul [][]string
	for _, r := range res.Rows {
		if r.Source == search.SourceConsul {
			wantConsul = append(wantConsul, []string{r.Name, r.Shard, r.Source, facets.CellText(r.Object()["ipaddress"])})
		}
	}
	if gotConsul := cellsOf(t, b, "#rows-table tbody tr.consul"); len(wantConsul) != 1 || !reflect.DeepEqual(gotConsul, wantConsul) {
		t.Errorf("rows from Consul: got %q, want %q", gotConsul, wantConsul)
	}
	down = cellsOf(t, b, `#shards-table tbody tr[data-shard="chef-3"]`)
	if len(down) != 1 || down[0][1] != search.StatusFallback || down[0][3] != "1" || !strings.Contains(down[0][5], "could not check role") {
		t.Errorf("the shard answered from Consul shows %q", down)
	}

	// The drift report, then a screenshot of the whole page.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=role:web&attrs=ipaddress,platform,kernel.release&facets=platform,chef_environment"))
	waitDone(t, b)
	do(t, b, chromedp.Click(chromedp.ID("drift-run")), chromedp.WaitVisible(chromedp.CSS(`#drift-out p.ok, #drift-out p.warn`)))
	drift := eval[string](t, b, `document.getElementById("drift-out").textContent`)
	if !strings.Contains(drift, "objects checked in stack prod") {
		t.Errorf("drift report: %q", drift)
	}
	png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "ui.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if dir := os.Getenv("SHEARCH_UI_SCREENSHOT_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, "ui.png"), png, 0o644)
	}

	tokenPage(t, b, f)
}

// consulStub answers for a failed shard as the Consul fallback would: a
// node Consul knows, and the query field it could not check.
type consulStub struct{}

func (consulStub) Nodes(ctx context.Context, shard string, _ *query.Query, partial map[string][]string) ([]shards.Row, []string, error) {
	return []shards.Row{{Name: "consul-only-01.prod.example.com", Data: json.RawMessage(`{"ipaddress":"10.9.9.9"}`)}}, []string{"role"}, nil
}

// tokenPage: with tokens, the page asks for one, keeps it in the browser
// session, sends it as a header and never puts it in a URL. The page
// itself is served without a token, as ServeHTTP must let /ui/ through.
func tokenPage(t *testing.T, b context.Context, f *fleettest.Fleet) {
	const secret = "s3cret-token"
	s := server.New(f.Engine, nil)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Options{TokensFile: tokens})
	if err != nil {
		t.Fatal(err)
	}
	s.Auth = authn
	var sawToken, exported atomic.Bool
	front := http.NewServeMux()
	front.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.String(), secret) {
			sawToken.Store(true)
		}
		if strings.HasPrefix(r.URL.Path, "/v1/export/") && r.Header.Get("Authorization") == "Bearer "+secret {
			exported.Store(true)
		}
		s.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(front)
	defer srv.Close()
	do(t, b, chromedp.Navigate(srv.URL+"/ui/?index=node&q=role:web&attrs=ipaddress"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="error"]`)))
	msg := eval[string](t, b, `document.getElementById("error").textContent`)
	if !strings.Contains(msg, "asks for a token") {
		t.Errorf("without a token the page says %q", msg)
	}
	do(t, b, chromedp.SendKeys(chromedp.ID("token"), secret), chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="done"]`)))
	names := eval[[]string](t, b, `Array.from(document.querySelectorAll("#rows-table tbody td.name")).map(td => td.textContent)`)
	kept := eval[string](t, b, `sessionStorage.getItem("shearch.token") || ""`)
	href := eval[string](t, b, `location.href + " " + document.getElementById("dl-csv").href`)
	sort.Strings(names)
	// The CSV download goes through fetch with the token in its header.
	do(t, b, chromedp.Click(chromedp.ID("dl-csv")))
	for i := 0; i < 100 && !exported.Load(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !exported.Load() {
		t.Errorf("the CSV download did not reach /v1/export with the token in its Authorization header")
	}
	if len(names) < 4 || kept != secret || strings.Contains(href, secret) || sawToken.Load() {
		t.Errorf("with the token: rows %q, session keeps %q, URLs %q, token seen in a request URL: %v", names, kept, href, sawToken.Load())
	}
}
