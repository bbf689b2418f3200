package server_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shearch/shearch/api"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
)

// The facet grid split by a group, the rollout view and the pin matrix,
// in headless chromium over 3 goiardi shards, against the API; a node
// whose platform holds markup shows it as text, as a value and as a
// group.
func TestUIReportInChromium(t *testing.T) {
	integration.Needs(t, "goiardi and chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	fx.Nodes = append(fx.Nodes, devfleet.Object{
		"name": "markup-02.prod.example.com", "chef_environment": "prod", "json_class": "Chef::Node", "chef_type": "node",
		"run_list": []any{"role[web]"}, "normal": map[string]any{}, "default": map[string]any{}, "override": map[string]any{},
		"automatic": map[string]any{"platform": markup, "roles": []any{"web"}, "ohai_time": time.Now().Unix(),
			"chef_packages": map[string]any{"chef": map[string]any{"version": markup}}},
	})
	f, err := fleettest.Start(ctx, 3, fx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, dialogs := browser(t)

	// The grid: one row per environment, a stacked bar of platforms.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=*:*&facets=platform&by=chef_environment"))
	waitDone(t, b)
	do(t, b, chromedp.WaitVisible(chromedp.CSS(`#facet-list .grid[data-facet="platform"]`)))
	res, err := f.Client.Facets(ctx, "node", "*:*", []string{"platform"}, &api.FacetOptions{By: "chef_environment"})
	if err != nil {
		t.Fatal(err)
	}
	gridOf := func() []string {
		return eval[[]string](t, b, `Array.from(document.querySelectorAll('#facet-list .grid tr')).map(tr =>
			tr.cells[0].textContent + " " + tr.dataset.total + ": " +
			Array.from(tr.querySelectorAll('.seg')).map(s => s.dataset.value + "=" + s.dataset.count).join(","))`)
	}
	var groups []string
	for g := range res.By {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var want []string
	for _, name := range groups {
		g := res.By[name]
		fc := g.Facets["platform"]
		var segs []string
		for _, v := range fc.SortedValues() {
			segs = append(segs, fmt.Sprintf("%s=%d", v, fc.Values[v]))
		}
		if fc.Missing > 0 {
			segs = append(segs, fmt.Sprintf("=%d", fc.Missing))
		}
		want = append(want, fmt.Sprintf("%s %d: %s", name, g.Total, strings.Join(segs, ",")))
	}
	if got := gridOf(); len(want) != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("grid by chef_environment:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(strings.Join(want, " "), markup) {
		t.Fatalf("the markup value is not in the grid's answer: %q", want)
	}

	// A click on a segment searches for those nodes.
	prod := res.By["prod"]
	top := prod.Facets["platform"].SortedValues()[0]
	do(t, b, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#facet-list .grid tr[data-group="prod"] .seg[data-value=%q]`, top))))
	waitDone(t, b)
	q := eval[string](t, b, `document.getElementById("q").value`)
	n := eval[int](t, b, `document.querySelectorAll("#rows-table tbody tr").length`)
	if q != fmt.Sprintf(`chef_environment:"prod" AND platform:%q`, top) || n != prod.Facets["platform"].Values[top] {
		t.Errorf("click on prod/%s: query %q, %d rows; want %d rows", top, q, n, prod.Facets["platform"].Values[top])
	}

	// The markup as a group: a row label, text.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=*:*&facets=chef_environment&by=platform"))
	waitDone(t, b)
	do(t, b, chromedp.WaitVisible(chromedp.CSS(`#facet-list .grid`)))
	labels := eval[[]string](t, b, `Array.from(document.querySelectorAll('#facet-list .grid td.group')).map(td => td.textContent)`)
	found := false
	for _, l := range labels {
		found = found || l == markup
	}
	if !found {
		t.Errorf("group labels %q: the markup group is not shown as text", labels)
	}

	// The rollout view against the API.
	do(t, b, chromedp.Navigate(f.HTTP.URL+"/ui/?index=node&q=*:*"))
	waitDone(t, b)
	do(t, b, chromedp.SetValue(chromedp.ID("rollout-attr"), "chef_packages.chef.version"),
		chromedp.SetValue(chromedp.ID("rollout-want"), "16.12.3"),
		chromedp.SetValue(chromedp.ID("rollout-by"), "chef_environment"),
		chromedp.Click(chromedp.ID("rollout-run")),
		chromedp.WaitVisible(chromedp.CSS(`#rollout-out table.rollout`)))
	ro, err := f.Client.Rollout(ctx, "node", "*:*", "chef_packages.chef.version", "16.12.3", &api.RolloutOptions{By: "chef_environment"})
	if err != nil {
		t.Fatal(err)
	}
	var wantRO [][]string
	for _, g := range append(ro.Groups, ro.All) {
		name := g.Group
		if name == "" {
			name = "all"
		}
		wantRO = append(wantRO, []string{name, strconv.Itoa(g.Reached), strconv.Itoa(g.Total), fmt.Sprintf("%.1f%%", 100*g.Share), strconv.Itoa(g.Stale), ""})
	}
	if got := cellsOf(t, b, `#rollout-out table.rollout tr[data-group]`); len(wantRO) < 3 || !reflect.DeepEqual(got, wantRO) {
		t.Errorf("rollout view:\n got %q\nwant %q", got, wantRO)
	}

	// The lagging nodes: the markup node's version shows as text, and its
	// name searches for it.
	do(t, b, chromedp.Click(chromedp.ID("rollout-lagging")), chromedp.Click(chromedp.ID("rollout-run")),
		chromedp.WaitVisible(chromedp.CSS(`#rollout-out table.lagging`)))
	lag, err := f.Client.Rollout(ctx, "node", "*:*", "chef_packages.chef.version", "16.12.3", &api.RolloutOptions{By: "chef_environment", Lagging: true})
	if err != nil {
		t.Fatal(err)
	}
	var wantLag [][]string
	for _, n := range lag.Lagging {
		v := n.Value
		if n.Missing {
			v = "(none)"
		}
		wantLag = append(wantLag, []string{n.Name, n.Shard, n.Group, v})
	}
	var gotLag [][]string
	for _, c := range cellsOf(t, b, `#rollout-out table.lagging tr[data-node]`) {
		gotLag = append(gotLag, c[:4])
	}
	if len(wantLag) < 2 || !reflect.DeepEqual(gotLag, wantLag) || !strings.Contains(fmt.Sprint(gotLag), markup) {
		t.Errorf("lagging nodes:\n got %q\nwant %q (with the markup value as text)", gotLag, wantLag)
	}
	do(t, b, chromedp.Click(chromedp.CSS(`#rollout-out tr[data-node="markup-02.prod.example.com"] a`)))
	waitDone(t, b)
	if q, n := eval[string](t, b, `document.getElementById("q").value`), eval[int](t, b, `document.querySelectorAll("#rows-table tbody tr").length`); q != `name:"markup-02.prod.example.com"` || n != 1 {
		t.Errorf("a lagging node's link: query %q, %d rows", q, n)
	}

	// The pin matrix, with nginx's pin changed on chef-2.
	admin, err := f.Cluster.Shards[1].Client()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := shards.ObjectPath(shards.Environments, "prod")
	var env map[string]any
	if err := admin.GetJSON(ctx, p, &env); err != nil {
		t.Fatal(err)
	}
	env["cookbook_versions"].(map[string]any)["nginx"] = "= 12.1.0"
	if _, err := admin.Do(ctx, "PUT", p, env); err != nil {
		t.Fatal(err)
	}
	do(t, b, chromedp.Click(chromedp.ID("pins-run")), chromedp.WaitVisible(chromedp.CSS(`#pins-out table.pins`)))
	pins, err := f.Client.Pins(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var wantPins [][]string
	for _, cb := range pins.Cookbooks {
		row := []string{cb}
		for _, e := range pins.Environments {
			cell := "latest"
			for _, pin := range pins.Pins {
				if pin.Cookbook == cb && pin.Environment == e {
					if pin.Merged != "" {
						cell = pin.Merged
					}
					if pin.Disagree {
						cell += "chef-1 = 12.0.5, chef-2 = 12.1.0, chef-3 = 12.0.5"
					}
				}
			}
			row = append(row, cell)
		}
		wantPins = append(wantPins, row)
	}
	got := eval[[][]string](t, b, `Array.from(document.querySelectorAll('#pins-out table.pins tr[data-cookbook]')).map(tr => Array.from(tr.cells).map(c => c.textContent))`)
	marked := eval[[]string](t, b, `Array.from(document.querySelectorAll('#pins-out td.disagree')).map(td => td.closest('tr').dataset.cookbook + "/" + td.dataset.environment)`)
	if len(pins.Disagreements) != 1 || !reflect.DeepEqual(got, wantPins) || !reflect.DeepEqual(marked, []string{"nginx/prod"}) {
		t.Errorf("pins matrix:\n got %q (marked %q)\nwant %q", got, marked, wantPins)
	}

	if imgs := eval[int](t, b, `document.querySelectorAll("img").length`); imgs != 0 || dialogs.Load() != 0 {
		t.Errorf("markup became page content: %d img elements, %d dialogs", imgs, dialogs.Load())
	}
}
