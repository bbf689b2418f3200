// Package rulecheck checks deploy/'s Prometheus rules and Grafana
// dashboard with Prometheus's own rule and PromQL parsers, against the
// metrics a live Shearch serves. It is a module of its own so that the
// Prometheus server's dependencies stay out of Shearch's.
package rulecheck

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/shearch/shearch/deploy"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
)

// liveMetrics serves a Shearch (the production wiring, service.New) over
// a fake shard, sends it a search, and returns the metric families its
// /metrics lists.
func liveMetrics(t *testing.T) map[string]string {
	t.Helper()
	fx := devfleet.Synthetic(20, 1, time.Now().Unix())
	fs, err := fakeshard.FromFixture(fx, fakeshard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs.Start()
	defer fs.Close()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	cfg, err := config.Parse([]byte(fmt.Sprintf("shutdown_delay: 0s\nshards:\n  client_key: %s\n  static:\n    - {name: chef-1, url: %q, stack: prod}\n", keyPath, fs.URL())))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- svc.Serve(ctx, "127.0.0.1:0", func(a string) { addr <- a }) }()
	defer func() { cancel(); <-done }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/search/node?q=*:*", "/v1/consistency"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	families := map[string]string{} // name -> type
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = f[3]
		}
	}
	if len(families) == 0 {
		t.Fatal("no metric families in /metrics")
	}
	return families
}

// served says whether a series name comes from a family /metrics lists:
// the family itself, or a histogram's or summary's _bucket, _sum, _count.
func served(families map[string]string, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if typ := families[base]; typ == "histogram" || typ == "summary" {
				return true
			}
		}
	}
	return false
}

var promql = parser.NewParser(parser.Options{})

// metricNames parses a PromQL expression and returns the metric names its
// selectors read.
func metricNames(expr string) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// grafanaVars stand for the dashboard's variables, so its queries parse
// as Prometheus will get them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$instance", ".*")

func TestRulesAndDashboardUseServedMetrics(t *testing.T) {
	families := liveMetrics(t)
	used := map[string][]string{} // metric -> where

	groups, errs := rulefmt.Parse(deploy.AlertRules, false, model.UTF8Validation, promql, nil)
	for _, err := range errs {
		t.Errorf("deploy/alerts.yml: %v", err)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatal("deploy/alerts.yml holds no rule group")
	}
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts++
			names, err := metricNames(r.Expr)
			if err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
			for _, n := range names {
				used[n] = append(used[n], "alert "+r.Alert)
			}
		}
	}

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(deploy.Dashboard, &dash); err != nil {
		t.Fatalf("deploy/grafana-dashboard.json: %v", err)
	}
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			names, err := metricNames(grafanaVars.Replace(tg.Expr))
			if err != nil {
				t.Errorf("panel %q: %s: %v", p.Title, tg.Expr, err)
			}
			for _, n := range names {
				used[n] = append(used[n], "panel "+p.Title)
			}
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			if m, ok := strings.CutPrefix(q, "label_values("); ok {
				name, _, _ := strings.Cut(m, ",")
				used[strings.TrimSpace(name)] = append(used[strings.TrimSpace(name)], "variable "+v.Name)
			}
		}
	}
	if queries == 0 {
		t.Fatal("the dashboard has no query")
	}
	var names []string
	for n, where := range used {
		names = append(names, n)
		if !served(families, n) {
			t.Errorf("%s (used by %s) is not in a live /metrics", n, strings.Join(slices.Compact(where), ", "))
		}
	}
	slices.Sort(names)
	t.Logf("%d alerts, %d dashboard queries; %d metrics, all served: %s", alerts, queries, len(names), strings.Join(names, " "))
	for _, must := range []string{"shearch_replicas", "shearch_shard_slots", "shearch_shard_breaker_open", "shearch_requests_shed_total", "shearch_drift_objects"} {
		if used[must] == nil {
			t.Errorf("%s is used by no rule or panel", must)
		}
	}
}
