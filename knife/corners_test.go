package knife

import (
	"encoding/json"
	"strings"
	"testing"
)

// Tests for the corners of issue 15. Every expected byte is derived from
// knife 16.12.3's source (chef/chef v16.12.3, its Gemfile.lock's
// mixlib-cli 2.1.8, the Ruby 2.7 / Psych 3.1 / libyaml 0.2.5 it embeds) by
// running that code by hand; the source is named next to each case.

// TestCornerInvalidFormat: knife.rb declares -F with
// `in: %w{summary text json yaml pp}`, and mixlib-cli 2.1.8
// (lib/mixlib/cli.rb, parse_options) prints
// "#{Formatter.combined_option_display_name(short, long)}: #{value} is not
// one of the allowed values: #{Formatter.friendly_opt_list(in)}", then
// `puts @opt_parser`, and exits 2. The presenter's /^j/ prefixes are never
// reached from the command line.
func TestCornerInvalidFormat(t *testing.T) {
	for _, c := range []struct{ cmd, value string }{
		{"search", "j"}, {"search", "s"}, {"search", "y"}, {"search", "t"}, {"search", "p"},
		{"search", "csv"}, {"search", ""}, {"search", "JSON"}, {"node show", "js"},
		{"status", "yml"}, {"data bag show", "x"}, {"role list", "text "},
	} {
		out := InvalidFormat(c.cmd, c.value)
		help, _ := Help(c.cmd)
		want := "-F/--format: " + c.value + " is not one of the allowed values: 'summary', 'text', 'json', 'yaml', or 'pp'\n" + help
		if string(out.Stdout) != want || len(out.Stderr) != 0 || out.Exit != 2 {
			t.Errorf("InvalidFormat(%q, %q) = %q / %q / %d, want %q on stdout, exit 2", c.cmd, c.value, out.Stdout, out.Stderr, out.Exit, want)
		}
	}
}

// unexpectedBlock is Knife#humanize_exception's NameError/NoMethodError
// branch (lib/chef/knife.rb): ui.error, then three ui.info lines, all on
// stderr; run_with_pretty_exceptions then exits 100.
func unexpectedBlock(exception string) string {
	return "ERROR: knife encountered an unexpected error\n" +
		"This may be a bug in the 'search' knife command or plugin\n" +
		"Please collect the output of this command with the `-VVV` option before filing a bug report.\n" +
		"Exception: " + exception + "\n"
}

// TestCornerRunListWithoutRunList: `knife search -r` calls
// `data.run_list.run_list` in GenericPresenter#format_data_subset_for_display.
// With -i the data is the Hash {"id" => name} (Search#run); on the
// environment, client and data bag indexes it is a Chef::Environment,
// Chef::ApiClient or Chef::DataBagItem (Chef::Search::Query#call_rest_service).
// None has #run_list: Ruby 2.7's NoMethodError message (error.c,
// name_err_mesg_to_str) shows the receiver's #inspect when it is at most
// 65 bytes, with ":Class" appended, else "#<Class:0x%016x>"; the address
// changes per run and is zeros here.
func TestCornerRunListWithoutRunList(t *testing.T) {
	nodeRows := partialNodes(t, webNodes, SearchFilter(SearchOptions{IDOnly: true}))
	longName := strings.Repeat("n", 56) // {"id"=>"nnn…"} is 66 bytes
	for _, c := range []struct {
		name      string
		o         SearchOptions
		rows      []map[string]any
		exception string
	}{
		{"node -i -r", SearchOptions{Index: "node", IDOnly: true, RunList: true}, nodeRows,
			"NoMethodError: undefined method `run_list' for {\"id\"=>\"web-01.prod.example.com\"}:Hash"},
		{"node -i -r -F json", SearchOptions{Index: "node", IDOnly: true, RunList: true, Format: "json"}, nodeRows,
			"NoMethodError: undefined method `run_list' for {\"id\"=>\"web-01.prod.example.com\"}:Hash"},
		{"role -i -r", SearchOptions{Index: "role", IDOnly: true, RunList: true}, []map[string]any{{"__display_name": "web"}},
			"NoMethodError: undefined method `run_list' for {\"id\"=>\"web\"}:Hash"},
		{"-i -r, 65-byte inspect", SearchOptions{Index: "node", IDOnly: true, RunList: true}, []map[string]any{{"__display_name": longName[:55]}},
			"NoMethodError: undefined method `run_list' for {\"id\"=>\"" + longName[:55] + "\"}:Hash"},
		{"-i -r, 66-byte inspect", SearchOptions{Index: "node", IDOnly: true, RunList: true}, []map[string]any{{"__display_name": longName}},
			"NoMethodError: undefined method `run_list' for #<Hash:0x0000000000000000>"},
		{"-i -r, no name", SearchOptions{Index: "node", IDOnly: true, RunList: true}, []map[string]any{{}},
			"NoMethodError: undefined method `run_list' for {\"id\"=>nil}:Hash"},
		{"environment -r", SearchOptions{Index: "environment", RunList: true}, []map[string]any{defaultEnvironment()},
			"NoMethodError: undefined method `run_list' for #<Chef::Environment:0x0000000000000000>"},
		{"client -r", SearchOptions{Index: "client", RunList: true}, clients(t),
			"NoMethodError: undefined method `run_list' for #<Chef::ApiClient:0x0000000000000000>"},
		{"data bag -r", SearchOptions{Index: "users", RunList: true}, []map[string]any{dataBagRow(t, "users", "alice")},
			"NoMethodError: undefined method `run_list' for #<Chef::DataBagItem:0x0000000000000000>"},
		// DataBagItem#inspect is "data_bag_item[bag.inspect, id.inspect, raw_data.inspect]".
		{"data bag -r, short item", SearchOptions{Index: "b", RunList: true},
			[]map[string]any{{"name": "data_bag_item_b_x", "json_class": "Chef::DataBagItem", "chef_type": "data_bag_item", "data_bag": "b", "raw_data": map[string]any{"id": "x"}}},
			"NoMethodError: undefined method `run_list' for data_bag_item[\"b\", \"x\", {\"id\"=>\"x\"}]:Chef::DataBagItem"},
	} {
		out, err := Search(c.o, c.rows)
		if want := unexpectedBlock(c.exception); err != nil || len(out.Stdout) != 0 || string(out.Stderr) != want || out.Exit != 100 {
			t.Errorf("%s: got %q / %q / %d / %v\nwant stderr %q, exit 100", c.name, out.Stdout, out.Stderr, out.Exit, err, want)
		}
	}
	// Where the rows have a run list, or there are none, -r works.
	if out, err := Search(SearchOptions{Index: "environment", RunList: true}, nil); err != nil || out.Exit != 1 || string(out.Stderr) != "0 items found\n\n" {
		t.Errorf("no rows: %q %d %v", out.Stderr, out.Exit, err)
	}
	out, err := Search(SearchOptions{Index: "role", RunList: true}, []map[string]any{fixture(t, "roles", "base")})
	if err != nil || out.Exit != 0 || !strings.HasPrefix(string(out.Stdout), "base:\n  run_list:") {
		t.Errorf("role -r: %q %v", out.Stdout, err)
	}
}

// TestCornerYAMLTags: Psych 3.1 over libyaml 0.2.5; see the body.
func TestCornerYAMLTags(t *testing.T) {
	// nil: Psych::Visitors::YAMLTree#visit_NilClass emits
	// scalar("", nil, "tag:yaml.org,2002:null", plain=true, quoted=false).
	// As a mapping key the empty text cannot be plain (simple key), so
	// yaml_emitter_select_scalar_style picks single quotes and, quoted
	// being not implicit, adds the tag "!": `! ''`. knife search -f gives
	// every row a nil heading (no __display_name), hence `- ! '':`.
	// "" instead: visit_String, quoted=true, single quotes, no tag: `''`.
	// A data bag item's raw_data is a ChefUtils::Mash (DataBagItem#raw_data=;
	// Mash#convert_value converts nested hashes, in arrays too), a Hash
	// subclass without ivars: visit_hash_subclass tags each one with
	// "!ruby/hash:ChefUtils::Mash"; an empty one is flow "{}".
	o := SearchOptions{Index: "node", Format: "yaml", FilterResult: "x=comment, y=id"}
	out, err := Search(o, partialNodes(t, webNodes[:2], SearchFilter(o)))
	want := "---\n:results: 2\n:rows:\n- ! '':\n    x:\n    \"y\":\n- ! '':\n    x:\n    \"y\":\n"
	if err != nil || string(out.Stdout) != want {
		t.Errorf("-f -F yaml: got %q %v, want %q", out.Stdout, err, want)
	}
	y, err := YAML(Object{{"", "empty"}, {nilKey, nil}, {"k", ""}})
	if want := "---\n'': empty\n! '':\nk: ''\n"; err != nil || string(y) != want {
		t.Errorf("keys: got %q, want %q", y, want)
	}

	item := map[string]any{
		"id":     "x",
		"empty":  map[string]any{},
		"nested": map[string]any{"a": 1, "list": []any{map[string]any{"k": "v"}, "s"}},
	}
	b, err := Show(KindHash, item, ShowOptions{Format: "yaml"})
	want = "--- !ruby/hash:ChefUtils::Mash\n" +
		"empty: !ruby/hash:ChefUtils::Mash {}\n" +
		"id: x\n" +
		"nested: !ruby/hash:ChefUtils::Mash\n" +
		"  a: 1\n" +
		"  list:\n" +
		"  - !ruby/hash:ChefUtils::Mash\n" +
		"    k: v\n" +
		"  - s\n"
	if err != nil || string(b) != want {
		t.Errorf("data bag show -F yaml: got\n%s\nwant\n%s", b, want)
	}
	b, err = Show(KindHash, fixture(t, "data_bags/users", "alice"), ShowOptions{Format: "yaml"})
	if err != nil || !strings.HasPrefix(string(b), "--- !ruby/hash:ChefUtils::Mash\naction: create\ncomment: Alice Liddell\n") {
		t.Errorf("alice: %q %v", b, err)
	}
	// JSON and text of the same item carry no tag.
	if b, _ := Show(KindHash, item, ShowOptions{Format: "json"}); strings.Contains(string(b), "Mash") {
		t.Errorf("json: %s", b)
	}
}

// TestCornerSearchWithoutIndex: Search#read_cli_args sets @type from
// name_args[0] under -q (nil when there is none) and has no `case` branch
// for three or more arguments; Chef::Search::Query#validate_type then
// raises InvalidSearchQuery, printed by humanize_exception's last branch as
// "ERROR: #{e.class.name}: #{e.message}", exit 100. -q with two arguments
// is refused first: ui.error, opt_parser on stdout, exit 1.
func TestCornerSearchWithoutIndex(t *testing.T) {
	out := SearchWithoutIndex()
	want := "ERROR: Chef::Exceptions::InvalidSearchQuery: Invalid search object type nil (NilClass), must be a String or Symbol." +
		"Usage: search(:node, QUERY[, OPTIONAL_ARGS])        `knife search environment QUERY (options)`\n"
	if string(out.Stderr) != want || len(out.Stdout) != 0 || out.Exit != 100 {
		t.Errorf("got %q %q %d, want %q", out.Stderr, out.Stdout, out.Exit, want)
	}
	out = SearchQueryTwice()
	help, _ := Help("search")
	if string(out.Stderr) != "ERROR: Please specify query as an argument or an option via -q, not both\n" || string(out.Stdout) != help || out.Exit != 1 {
		t.Errorf("got %q %q %d", out.Stderr, out.Stdout, out.Exit)
	}
}

// TestCornerWholeObjects: where knife dumps Ruby object internals (YAML.dump
// or PP.pp of a Chef::Node, Role, ...), gnife writes the object's own JSON
// document (to_json's keys, in its order) as plain data. A documented
// difference; the expected bytes follow Psych's and PP's rules for plain
// data, the same code the recorded plain-data examples (024, 027) pin.
func TestCornerWholeObjects(t *testing.T) {
	b, err := Show(KindRole, fixture(t, "roles", "web"), ShowOptions{Format: "yaml"})
	want := "---\nname: web\ndescription: Nginx front-end web servers\njson_class: Chef::Role\n" +
		"default_attributes:\n  nginx:\n    port: 80\n    worker_processes: 4\n" +
		"override_attributes:\n  app:\n    listen: 0.0.0.0:8080\n" +
		"chef_type: role\nrun_list:\n- role[base]\n- recipe[nginx]\n- recipe[app::web]\n" +
		"env_run_lists:\n  dev:\n  - role[base]\n  - recipe[nginx]\n  - recipe[app::web]\n  - recipe[app::debug_toolbar]\n"
	if err != nil || string(b) != want {
		t.Errorf("role show -F yaml: got\n%s\nwant\n%s", b, want)
	}
	b, err = Show(KindNode, fixture(t, "nodes", "web-01.prod.example.com"), ShowOptions{Format: "yaml"})
	if err != nil || !strings.HasPrefix(string(b), "---\nname: web-01.prod.example.com\nchef_environment: prod\njson_class: Chef::Node\nautomatic:\n  chef_packages:\n") ||
		!strings.HasSuffix(string(b), "\nchef_type: node\ndefault:\n  nginx:\n    port: 80\n    worker_processes: 4\noverride: {}\nrun_list:\n- role[web]\n- recipe[app::deploy]\n") {
		t.Errorf("node show -F yaml: %v\n%s", err, b)
	}
	out, err := Search(SearchOptions{Index: "environment", Format: "yaml"}, []map[string]any{defaultEnvironment()})
	want = "---\n:results: 1\n:rows:\n- name: _default\n  description: The default Chef environment\n  cookbook_versions: {}\n" +
		"  json_class: Chef::Environment\n  chef_type: environment\n  default_attributes: {}\n  override_attributes: {}\n"
	if err != nil || string(out.Stdout) != want || out.Exit != 0 {
		t.Errorf("search environment -F yaml: got\n%s\nwant\n%s", out.Stdout, want)
	}
	b, err = Show(KindEnvironment, defaultEnvironment(), ShowOptions{Format: "pp"})
	want = "{\"name\"=>\"_default\",\n \"description\"=>\"The default Chef environment\",\n \"cookbook_versions\"=>{},\n" +
		" \"json_class\"=>\"Chef::Environment\",\n \"chef_type\"=>\"environment\",\n \"default_attributes\"=>{},\n \"override_attributes\"=>{}}\n"
	if err != nil || string(b) != want {
		t.Errorf("environment show -F pp: got\n%s\nwant\n%s", b, want)
	}
}

// TestCornerStatusLong: `knife status -l` hands whole Chef::Node objects to
// GenericPresenter#format (status.rb `output(all_nodes)`). TextFormatter
// keeps the Array and asks each node for #keys and #sort, which
// Node#method_missing sends to its merged attributes, so -F text prints
// each node's merged attributes, keys sorted and padded to the longest
// plus one, nodes separated by an empty line (text_formatter.rb). YAML and
// PP of the nodes print their JSON documents (documented difference).
func TestCornerStatusLong(t *testing.T) {
	rows := []map[string]any{
		{"name": "n2", "chef_environment": "_default", "automatic": map[string]any{"ohai_time": 1795348100}},
		{"name": "n1", "chef_environment": "_default", "normal": map[string]any{"tags": []any{}, "b": "x"},
			"automatic": map[string]any{"ohai_time": 1795348000, "a": map[string]any{"k": 1}}, "default": map[string]any{"b": "d"}},
	}
	b, err := Status(StatusOptions{Format: "text", Long: true}, rows, clock)
	want := "a:\n  k: 1\nb:         x\nohai_time: 1795348000\ntags:\n\nohai_time: 1795348100\n"
	if err != nil || string(b) != want {
		t.Errorf("status -l -F text: got %q %v, want %q", b, err, want)
	}
	b, err = Status(StatusOptions{Format: "yaml", Long: true}, rows[:1], clock)
	want = "---\n- name: n2\n  chef_environment: _default\n  json_class: Chef::Node\n  automatic:\n    ohai_time: 1795348100\n" +
		"  normal: {}\n  chef_type: node\n  default: {}\n  override: {}\n  run_list: []\n"
	if err != nil || string(b) != want {
		t.Errorf("status -l -F yaml: got %q %v, want %q", b, err, want)
	}
}

// TestCornerPPRunList: `-F pp` with one -a prints data.values[0]
// (GenericPresenter#format), here {"run_list"=>RunList}, whose inspect
// would show object addresses; the run list's entries stand in for it.
func TestCornerPPRunList(t *testing.T) {
	b, err := Show(KindRole, fixture(t, "roles", "web"), ShowOptions{Format: "pp", Attributes: []string{"run_list"}})
	if want := "{\"run_list\"=>[\"role[base]\", \"recipe[nginx]\", \"recipe[app::web]\"]}\n"; err != nil || string(b) != want {
		t.Errorf("got %q %v, want %q", b, err, want)
	}
}

// TestCornerEncryptedDataBag: CheckEncrypted#encrypted? and
// looks_like_encrypted? (lib/chef/encrypted_data_bag_item/check_encrypted.rb)
// with the encryptor keys of encryptor.rb; data_bag_show.rb's warnings.
func TestCornerEncryptedDataBag(t *testing.T) {
	v1 := map[string]any{"encrypted_data": "x", "iv": "y", "version": json.Number("1"), "cipher": "aes-256-cbc"}
	v2 := map[string]any{"encrypted_data": "x", "iv": "y", "version": json.Number("2"), "cipher": "aes-256-cbc", "hmac": "h"}
	v3 := map[string]any{"encrypted_data": "x", "iv": "y", "version": json.Number("3"), "cipher": "aes-256-gcm", "auth_tag": "t"}
	for _, c := range []struct {
		item map[string]any
		want bool
	}{
		{map[string]any{"id": "a", "pw": v1}, true},
		{map[string]any{"id": "a", "pw": v2, "key": v3, "chef_type": "data_bag_item", "data_bag": "b"}, true},
		{map[string]any{"id": "a"}, false},                            // only "id": not encrypted
		{map[string]any{"id": "a", "pw": v1, "plain": "text"}, false}, // one plain value
		{map[string]any{"id": "a", "pw": v3, "x": v2, "y": v1}, true}, // versions may mix
		{map[string]any{"id": "a", "pw": map[string]any{"version": json.Number("4"), "iv": "y"}}, false},
		{map[string]any{"id": "a", "pw": map[string]any{"encrypted_data": "x", "iv": "y", "version": json.Number("1")}}, false},   // a key short
		{map[string]any{"id": "a", "pw": map[string]any{"encrypted_data": "x", "iv": "y", "version": "1", "cipher": "c"}}, false}, // "1" is not 1
		{fixture(t, "data_bags/users", "alice"), false},
	} {
		if got := DataBagItemEncrypted(c.item); got != c.want {
			t.Errorf("DataBagItemEncrypted(%v) = %v, want %v", c.item, got, c.want)
		}
	}
	for got, want := range map[string]string{
		string(EncryptedNoSecret): "WARNING: Encrypted data bag detected, but no secret provided for decoding. Displaying encrypted data.\n",
		string(UnencryptedSecret): "WARNING: Unencrypted data bag detected, ignoring any provided secret options.\n",
		string(TwoSecretsGiven):   "FATAL: Please specify only one of --secret, --secret-file\n",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
