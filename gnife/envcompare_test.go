package gnife

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/shards"
)

// knife 16.12.3's environment compare over the fixture's environments:
// HighLine's uneven_columns_across list (every field padded to its
// column, the last one too, two spaces between), then text_format's
// newline. The expected bytes follow lib/chef/knife/environment_compare.rb
// and highline 2.0.3's ListRenderer.
var compareCases = []struct {
	args []string
	out  string
	err  string
	code int
}{
	{[]string{}, "" +
		"            dev     prod      sandbox\n" +
		"base        latest  >= 3.1.0  latest \n" +
		"nginx       latest  = 12.0.5  latest \n" +
		"postgresql  latest  ~> 11.2   latest \n\n", "", 0},
	{[]string{"prod", "dev"}, "" +
		"            prod      dev   \n" +
		"base        >= 3.1.0  latest\n" +
		"nginx       = 12.0.5  latest\n" +
		"postgresql  ~> 11.2   latest\n\n", "", 0},
	{[]string{"prod"}, "" +
		"            prod    \n" +
		"base        >= 3.1.0\n" +
		"nginx       = 12.0.5\n" +
		"postgresql  ~> 11.2 \n\n", "", 0},
	// One environment agrees with itself: -m leaves only the header.
	{[]string{"prod", "-m"}, "  prod\n\n", "", 0},
	{[]string{"-m"}, "" +
		"            dev     prod      sandbox\n" +
		"base        latest  >= 3.1.0  latest \n" +
		"nginx       latest  = 12.0.5  latest \n" +
		"postgresql  latest  ~> 11.2   latest \n\n", "", 0},
	// -a walks /cookbooks?num_versions=1: the fixture has no cookbooks.
	{[]string{"-a"}, "  dev  prod  sandbox\n\n", "", 0},
	{[]string{"-F", "json"}, "{\n  \"dev\": {\n\n  },\n  \"prod\": {\n    \"base\": \">= 3.1.0\",\n    \"nginx\": \"= 12.0.5\",\n    \"postgresql\": \"~> 11.2\"\n  },\n  \"sandbox\": {\n\n  }\n}\n", "", 0},
	{[]string{"-F", "text"}, "dev:\nprod:\n  base:       >= 3.1.0\n  nginx:      = 12.0.5\n  postgresql: ~> 11.2\nsandbox:\n", "", 0},
	{[]string{"dev", "sandbox"}, "", "ERROR: Cannot find any environment cookbook constraints\n", 1},
	{[]string{"prod", "nope"}, "", "ERROR: The object you are looking for could not be found\nResponse: Cannot load environment nope\n", 100},
}

func TestEnvironmentCompare(t *testing.T) {
	integration.Needs(t, "goiardi")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleettest.Start(ctx, 3, fx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.HTTP.URL}}}
		code := Run(args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
		return out.String(), errOut.String(), code
	}
	for _, c := range compareCases {
		args := append([]string{"environment", "compare"}, c.args...)
		out, errOut, code := run(args...)
		if out != c.out || errOut != c.err || code != c.code {
			t.Errorf("gnife %s:\n stdout %q\n stderr %q\n exit %d\nwant\n stdout %q\n stderr %q\n exit %d",
				strings.Join(args, " "), out, errOut, code, c.out, c.err, c.code)
		}
	}

	// A pin changed on one shard: the matrix is knife's over the merged
	// environments (two shards of three keep = 12.0.5), and stderr names
	// the cookbook, the environment and each shard's constraint.
	admin, err := f.Cluster.Shards[1].Client()
	if err != nil {
		t.Fatal(err)
	}
	var prod map[string]any
	p, _ := shards.ObjectPath(shards.Environments, "prod")
	if err := admin.GetJSON(ctx, p, &prod); err != nil {
		t.Fatal(err)
	}
	prod["cookbook_versions"].(map[string]any)["nginx"] = "= 12.1.0"
	if _, err := admin.Do(ctx, "PUT", p, prod); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("environment", "compare", "prod", "dev")
	wantErr := "WARNING: cookbook nginx in environment prod is pinned differently on the shards: chef-1 = 12.0.5, chef-2 = 12.1.0, chef-3 = 12.0.5\n"
	if out != compareCases[1].out || errOut != wantErr || code != 0 {
		t.Errorf("with a pin changed on chef-2:\n stdout %q\n stderr %q\n exit %d\nwant stderr %q", out, errOut, code, wantErr)
	}
	out, _, code = run("environment", "compare", "prod", "--by-shard", "-m")
	want := "" +
		"       prod      prod@chef-1  prod@chef-2  prod@chef-3\n" +
		"nginx  = 12.0.5  = 12.0.5     = 12.1.0     = 12.0.5   \n\n"
	if out != want || code != 0 {
		t.Errorf("--by-shard -m:\n%q\nwant\n%q", out, want)
	}
	// Cookbooks on some shards only: Chef's /cookbooks reads merged over
	// the shards, which -a walks as knife does.
	uploadCookbook(t, ctx, f, 0, "nginx", "12.0.5")
	uploadCookbook(t, ctx, f, 1, "nginx", "12.1.0")
	uploadCookbook(t, ctx, f, 2, "apt", "7.4.0")
	out, _, code = run("environment", "compare", "-a", "prod", "dev")
	want = "" +
		"       prod      dev   \n" +
		"apt    latest    latest\n" +
		"nginx  = 12.0.5  latest\n\n"
	if out != want || code != 0 {
		t.Errorf("-a with cookbooks on some shards:\n%q\nwant\n%q", out, want)
	}
	var books map[string]struct {
		URL      string `json:"url"`
		Versions []struct {
			URL     string `json:"url"`
			Version string `json:"version"`
		} `json:"versions"`
	}
	for _, c := range []struct {
		path, query string
		want        map[string][]string
	}{
		{"/cookbooks", "", map[string][]string{"apt": {"7.4.0"}, "nginx": {"12.1.0"}}},
		{"/cookbooks", "num_versions=all", map[string][]string{"apt": {"7.4.0"}, "nginx": {"12.1.0", "12.0.5"}}},
		{"/cookbooks/nginx", "", map[string][]string{"nginx": {"12.1.0", "12.0.5"}}},
	} {
		res, err := http.Get(f.HTTP.URL + c.path + "?" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		books = nil
		json.NewDecoder(res.Body).Decode(&books)
		res.Body.Close()
		got := map[string][]string{}
		for name, b := range books {
			if b.URL != f.HTTP.URL+"/cookbooks/"+name {
				t.Errorf("%s: url %q", c.path, b.URL)
			}
			for _, v := range b.Versions {
				got[name] = append(got[name], v.Version)
				if v.URL != b.URL+"/"+v.Version {
					t.Errorf("%s: version url %q", c.path, v.URL)
				}
			}
		}
		if res.StatusCode != 200 || !reflect.DeepEqual(got, c.want) {
			t.Errorf("GET %s?%s: %d %v, want %v", c.path, c.query, res.StatusCode, got, c.want)
		}
	}
	if res, err := http.Get(f.HTTP.URL + "/cookbooks/nope"); err != nil || res.StatusCode != 404 {
		t.Errorf("GET /cookbooks/nope: %v %v, want 404", res, err)
	}

	pins, err := f.Client.Pins(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pins.Disagreements) != 1 || pins.Disagreements[0].Cookbook != "nginx" || pins.Disagreements[0].Merged != "= 12.0.5" ||
		len(pins.Pins) != 3 || len(pins.Shards) != 3 {
		t.Errorf("pins: %+v", pins)
	}
}

// uploadCookbook puts a cookbook version with no files on one shard.
func uploadCookbook(t *testing.T, ctx context.Context, f *fleettest.Fleet, shard int, name, version string) {
	t.Helper()
	admin, err := f.Cluster.Shards[shard].Client()
	if err != nil {
		t.Fatal(err)
	}
	p, err := shards.ObjectPath(shards.Cookbooks, name, version)
	if err != nil {
		t.Fatal(err)
	}
	cb := map[string]any{"name": name + "-" + version, "cookbook_name": name, "version": version,
		"json_class": "Chef::CookbookVersion", "chef_type": "cookbook_version", "frozen?": false,
		"metadata": map[string]any{"name": name, "version": version, "description": "", "dependencies": map[string]any{}}}
	if _, err := admin.Do(ctx, "PUT", p, cb); err != nil {
		t.Fatalf("uploading %s %s to %s: %v", name, version, f.Cluster.Shards[shard].Name, err)
	}
}
