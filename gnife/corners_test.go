package gnife

import (
	"strings"
	"testing"

	"github.com/shearch/shearch/knife"
)

// TestKnifeCorners runs the corners of issue 15 through gnife, Shearch and
// three goiardi shards holding the fixture. The expected bytes are knife
// 16.12.3's, derived from its source as cited (the same derivations are
// unit-tested in knife/corners_test.go), except where a case says it pins a
// documented difference (README, "Differences from knife").
// anyStdout in a case pins stderr and the exit code only.
const anyStdout = "(any output)"

func TestKnifeCorners(t *testing.T) {
	f := startFleet(t)
	help := func(cmd string) string { h, _ := knife.Help(cmd); return h }
	// mixlib-cli 2.1.8 parse_options, knife.rb's `in: %w{summary text json yaml pp}`.
	badFormat := func(cmd, v string) string {
		return "-F/--format: " + v + " is not one of the allowed values: 'summary', 'text', 'json', 'yaml', or 'pp'\n" + help(cmd)
	}
	// Knife#humanize_exception, NameError/NoMethodError branch.
	unexpected := func(receiver string) string {
		return "ERROR: knife encountered an unexpected error\n" +
			"This may be a bug in the 'search' knife command or plugin\n" +
			"Please collect the output of this command with the `-VVV` option before filing a bug report.\n" +
			"Exception: NoMethodError: undefined method `run_list' for " + receiver + "\n"
	}
	// Chef::Search::Query#validate_type, printed by humanize_exception's else branch.
	noIndex := "ERROR: Chef::Exceptions::InvalidSearchQuery: Invalid search object type nil (NilClass), must be a String or Symbol." +
		"Usage: search(:node, QUERY[, OPTIONAL_ARGS])        `knife search environment QUERY (options)`\n"
	for _, c := range []struct {
		cmd            string
		stdout, stderr string
		rc             int
	}{
		// 1. -F values knife refuses.
		{`search node 'role:web' -F j`, badFormat("search", "j"), "", 2},
		{`search node 'role:web' -F csv`, badFormat("search", "csv"), "", 2},
		{`search node -F s`, badFormat("search", "s"), "", 2}, // checked before the missing query
		{`node show web-01.prod.example.com -F y`, badFormat("node show", "y"), "", 2},
		{`role show web -F t`, badFormat("role show", "t"), "", 2},
		{`data bag show users alice -F p`, badFormat("data bag show", "p"), "", 2},
		{`status -F JSON`, badFormat("status", "JSON"), "", 2},
		{`node list -F ''`, badFormat("node list", ""), "", 2},
		{`ssh 'role:web' uptime -F j`, badFormat("ssh", "j"), "", 2},
		// 2. -r on rows with no run list.
		{`search node 'role:web' -i -r`, "", unexpected(`{"id"=>"web-01.prod.example.com"}:Hash`), 100},
		{`search role 'name:web' -i -r`, "", unexpected(`{"id"=>"web"}:Hash`), 100},
		{`search environment '*:*' -r`, "", unexpected("#<Chef::Environment:0x0000000000000000>"), 100},
		{`search client '*:*' -r -F json`, "", unexpected("#<Chef::ApiClient:0x0000000000000000>"), 100},
		{`search users '*:*' -r`, "", unexpected("#<Chef::DataBagItem:0x0000000000000000>"), 100},
		// knife 16.12.3's -i asks a partial search for the name alone and
		// formats {"id" => name}: with -r that Hash has no run_list, on
		// any index; without -i, -m changes nothing for a data bag item.
		{`search environment '*:*' -i -r`, "", unexpected(`{"id"=>"_default"}:Hash`), 100},
		{`search users id:alice -m -r`, "", unexpected("#<Chef::DataBagItem:0x0000000000000000>"), 100},
		{`search role 'name:web' -r`, "web:\n  run_list:\n    role[base]\n    recipe[nginx]\n    recipe[app::web]\n\n", "1 items found\n\n", 0},
		// 3. YAML tags: Psych's nil key and ChefUtils::Mash.
		{`search node 'name:web-01*' -F yaml -f 'x=comment, y=id'`, "---\n:results: 1\n:rows:\n- ! '':\n    x:\n    \"y\":\n", "", 0},
		{`data bag show users alice -F yaml`, "--- !ruby/hash:ChefUtils::Mash\naction: create\ncomment: Alice Liddell\ngid: sysadmin\n" +
			"groups:\n- sysadmin\n- deploy\nid: alice\nshell: \"/bin/bash\"\nssh_keys:\n" +
			"- ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5YWxpY2UwMDAwMDAwMDAwMDAwMDAw alice@laptop\nuid: 2001\n", "", 0}, // column 78: libyaml folds past 80
		// 4. search with no index.
		{`search -q 'role:web'`, "", noIndex, 100},
		{`search -q 'role:web' -i`, "", noIndex, 100},
		{`search node role:web extra`, "", noIndex, 100},
		{`search node -q role:web extra`, help("search"), "ERROR: Please specify query as an argument or an option via -q, not both\n", 1},
		{`search node -q 'role:web' -i`, "web-01.prod.example.com\nweb-02.prod.example.com\nweb-03.dev.example.com\n", "3 items found\n\n", 0},
		// 5. Whole objects as plain YAML (a documented difference).
		{`role show web -F yaml`, "---\nname: web\ndescription: Nginx front-end web servers\njson_class: Chef::Role\n" +
			"default_attributes:\n  nginx:\n    port: 80\n    worker_processes: 4\n" +
			"override_attributes:\n  app:\n    listen: 0.0.0.0:8080\n" +
			"chef_type: role\nrun_list:\n- role[base]\n- recipe[nginx]\n- recipe[app::web]\n" +
			"env_run_lists:\n  dev:\n  - role[base]\n  - recipe[nginx]\n  - recipe[app::web]\n  - recipe[app::debug_toolbar]\n", "", 0},
		// 6. UTF-8 terms reach the shards (erchef would answer 400).
		{`search node 'site:Zürich*' -i`, "monitor01\n", "1 items found\n\n", 0},
		{`search node 'owner:Zoë*' -a site`, "monitor01:\n  site: Zürich DC-2\n\n", "1 items found\n\n", 0},
		{`search node 'site:Genève*' -i`, "", "0 items found\n\n", 1},
		// OptionParser::MissingArgument, which knife does not rescue (Ruby
		// prints it with a backtrace, exit 1): gnife prints its message.
		{`search node 'role:web' -a`, "", "ERROR: missing argument: -a\n", 1},
		// knife's common options are accepted and ignored.
		{`search node 'role:web' -i -VV -u admin -k /tmp/none.pem --no-color -y`, "web-01.prod.example.com\nweb-02.prod.example.com\nweb-03.dev.example.com\n", "3 items found\n\n", 0},
		{`data bag list -E prod`, "users\n", "", 0}, // knife's common -E, ignored
		// data_bag_show.rb: a secret for an unencrypted item is warned about and ignored.
		{`data bag show users bob --secret s3cret -F json`, anyStdout, "WARNING: Unencrypted data bag detected, ignoring any provided secret options.\n", 0},
		{`data bag show users bob --secret s --secret-file f`, "", "FATAL: Please specify only one of --secret, --secret-file\n", 1},
		// 7. && is searched as typed (knife's URL cuts the query at &: a documented difference).
		{`search node 'role:web && chef_environment:dev' -i`, "web-03.dev.example.com\n", "1 items found\n\n", 0},
	} {
		t.Run(c.cmd, func(t *testing.T) {
			out, errOut, rc := runGnife(t, f, shellWords(c.cmd))
			if c.stdout == anyStdout && out != "" {
				out = anyStdout
			}
			if out != c.stdout || errOut != c.stderr || rc != c.rc {
				t.Errorf("gnife %s\n--- exit %d, want %d\n--- stdout:\n%s\n--- want:\n%s\n--- stderr:\n%s\n--- want:\n%s", c.cmd, rc, c.rc, out, c.stdout, errOut, c.stderr)
			}
		})
	}
	t.Run("node show -F yaml", func(t *testing.T) {
		out, errOut, rc := runGnife(t, f, []string{"node", "show", "monitor01", "-F", "yaml"})
		if rc != 0 || errOut != "" || !strings.HasPrefix(out, "---\nname: monitor01\nchef_environment: prod\njson_class: Chef::Node\nautomatic:\n") ||
			!strings.Contains(out, "\n  owner: Zoë Ångström\n") || !strings.HasSuffix(out, "run_list:\n- role[monitoring]\n") {
			t.Errorf("exit %d, stderr %q, stdout:\n%s", rc, errOut, out)
		}
	})
	// Knife.subcommand_not_found! (knife.rb): FATAL naming every word, then
	// a command list (gnife's own, a documented difference), exit 10.
	for cmd, want := range map[string]string{"frobnicate now": "'frobnicate now'", "node frob x": "'node frob x'"} {
		t.Run(cmd, func(t *testing.T) {
			out, errOut, rc := runGnife(t, f, strings.Fields(cmd))
			if rc != 10 || errOut != "FATAL: Cannot find subcommand for: "+want+"\n" || !strings.Contains(out, "COMMANDS:") {
				t.Errorf("exit %d, stderr %q, stdout %q", rc, errOut, out)
			}
		})
	}
	// 8. gnife --help describes every global flag.
	t.Run("--help", func(t *testing.T) {
		out, _, rc := runGnife(t, f, []string{"--help"})
		for _, want := range []string{
			"--server-url value, -s value  " + serverURLUsage + "\n",
			"--stack value                 " + stackUsage + "\n",
			"--partial value               " + partialUsage + "\n",
		} {
			if rc != 0 || !strings.Contains(out, want) {
				t.Errorf("gnife --help (exit %d) lacks %q:\n%s", rc, want, out)
			}
		}
	})
}
