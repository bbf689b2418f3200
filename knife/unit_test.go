package knife

import (
	"encoding/json"
	"strings"
	"testing"
)

// Behaviour read from knife's source that the recorded examples do not
// exercise.

func TestRubyNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"1794484758.0": "1794484758.0", "1795348487.52": "1795348487.52", "2.50": "2.5",
		"1e20": "1.0e+20", "0.0001": "0.0001", "0.00001": "1.0e-05", "1e15": "1000000000000000.0",
		"1e16": "1.0e+16", "-0": "0", "42": "42", "-1.5E-7": "-1.5e-07",
	} {
		if got := rubyToS(json.Number(in)); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestTextFormatter(t *testing.T) {
	got := string(Text(map[string]any{
		"nil": nil, "empty": []any{}, "hash": map[string]any{}, "one": []any{"x"},
		"two": []any{"a", "b"}, "multi": "l1\nl2\n",
		"nested": map[string]any{"pem": "a\nb\n", "list": []any{map[string]any{"k": 1}, map[string]any{"k": 2}}},
	}))
	want := "empty:\nhash:\nmulti:  l1\nl2\n\nnested:\n  list:\n    k: 1\n    \n    k: 2\n  pem:  a\n  b\nnil:    \none:    x\ntwo:\n  a\n  b\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestJSONEncoding(t *testing.T) {
	got := string(JSON(Object{{"s", "a\"b\\c\n\x01é/<"}, {"e", map[string]any{}}, {"a", []any{}}, {"n", nil}, {"f", json.Number("2.50")}}))
	want := "{\n  \"s\": \"a\\\"b\\\\c\\n\\u0001é/<\",\n  \"e\": {\n\n  },\n  \"a\": [\n\n  ],\n  \"n\": null,\n  \"f\": 2.5\n}\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestPolicyfileNode(t *testing.T) {
	got := string(NodeSummary(map[string]any{"name": "p1", "policy_name": "webapp", "policy_group": "prod", "run_list": []any{}}, DetailSummary))
	want := "Node Name:   p1\nPolicy Name:  webapp\nPolicy Group: prod\nFQDN:        \nIP:          \nRun List:    \nRecipes:     \nPlatform:     \nTags:        \n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	b, err := Show(KindNode, map[string]any{"name": "p1", "policy_name": "webapp", "policy_group": "prod"}, ShowOptions{Format: "json"})
	if err != nil || !strings.Contains(string(b), "\"policy_name\": \"webapp\",\n  \"policy_group\": \"prod\",\n  \"run_list\": [\n\n]\n,\n") {
		t.Errorf("policy json: %q %v", b, err)
	}
}

func TestRoleShowRunListAttribute(t *testing.T) {
	b, err := Show(KindRole, fixture(t, "roles", "web"), ShowOptions{Attributes: []string{"run_list"}})
	if want := "web:\n  run_list: role[base], recipe[nginx], recipe[app::web]\n"; err != nil || string(b) != want {
		t.Errorf("got %q %v, want %q", b, err, want)
	}
}

func TestNodeShowFieldSeparator(t *testing.T) {
	b, err := Show(KindNode, fixture(t, "nodes", "web-01.prod.example.com"), ShowOptions{Attributes: []string{"ec2:region"}, FieldSeparator: ":"})
	if want := "web-01.prod.example.com:\n  ec2:region: us-east-1\n"; err != nil || string(b) != want {
		t.Errorf("got %q %v, want %q", b, err, want)
	}
}

func TestSearchFilterResultAndEnvironment(t *testing.T) {
	o := SearchOptions{Index: "node", FilterResult: "ip=ipaddress, az=ec2.placement_availability_zone"}
	out, err := Search(o, partialNodes(t, webNodes[:1], SearchFilter(o)))
	if want := ":\n  az: us-east-1a\n  ip: 127.0.0.11\n\n"; err != nil || string(out.Stdout) != want {
		t.Errorf("-f: got %q %v, want %q", out.Stdout, err, want)
	}
	out, err = Search(SearchOptions{Index: "node", Environment: true}, nodes(t, webNodes[:1]))
	if want := "chef_environment: prod\n\n"; err != nil || string(out.Stdout) != want {
		t.Errorf("-E: got %q %v, want %q", out.Stdout, err, want)
	}
}

func TestSearchYAMLWithAttributes(t *testing.T) {
	o := SearchOptions{Index: "node", Format: "yaml", Attributes: []string{"ipaddress"}}
	out, err := Search(o, partialNodes(t, webNodes, SearchFilter(o)))
	want := "---\n:results: 3\n:rows:\n- web-01.prod.example.com:\n    ipaddress: 127.0.0.11\n" +
		"- web-02.prod.example.com:\n    ipaddress: 127.0.0.12\n- web-03.dev.example.com:\n    ipaddress: 127.0.0.13\n"
	if err != nil || string(out.Stdout) != want || len(out.Stderr) != 0 {
		t.Errorf("got %q %q %v\nwant %q", out.Stdout, out.Stderr, err, want)
	}
}

func TestYAMLScalars(t *testing.T) {
	b, err := YAML(map[string]any{"v": "20.04", "w": "2.4.1", "p": "/bin/bash", "e": "", "n": nil,
		"b": false, "t": "true", "u": "Zoë", "l": []any{}, "m": map[string]any{}, "pem": "a\nb\n", "c": "x: y"})
	want := "---\nb: false\nc: 'x: y'\ne: ''\nl: []\nm: {}\n\"n\":\np: \"/bin/bash\"\npem: |\n  a\n  b\nt: 'true'\nu: Zoë\nv: '20.04'\nw: 2.4.1\n"
	if err != nil || string(b) != want {
		t.Errorf("got  %q\nwant %q", b, want)
	}
}

func TestPP(t *testing.T) {
	b, _ := PP(map[string]any{"a": json.Number("1"), "b": nil})
	if want := "{\"a\"=>1, \"b\"=>nil}\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
	out, _ := Search(SearchOptions{Index: "node", Format: "pp", IDOnly: true}, []map[string]any{{"__display_name": "web-01"}})
	if want := "\"web-01\"\n"; string(out.Stdout) != want {
		t.Errorf("pp -i: got %q, want %q", out.Stdout, want)
	}
}

func TestStatusDetails(t *testing.T) {
	rows := []map[string]any{
		{"name": "a", "ohai_time": json.Number("1795348799")},
		{"name": "b", "ohai_time": json.Number("1795345200")},
	}
	b, _ := Status(StatusOptions{SortReverse: true}, rows, clock)
	if want := "1 second  ago, a.\n1 hour  ago, b.\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
	for _, c := range []struct{ q, env, mins, want string }{
		{"", "", "60", "NOT ohai_time:[1795345200 TO 1795348800]"},
		{"role:web", "prod", "", "role:web AND chef_environment:prod"},
		{"role:web", "", "10", "role:web NOT ohai_time:[1795348200 TO 1795348800]"},
		{"", "", "", "*:*"},
	} {
		if got := StatusQuery(c.q, c.env, c.mins, clock); got != c.want {
			t.Errorf("StatusQuery(%q, %q, %q) = %q, want %q", c.q, c.env, c.mins, got, c.want)
		}
	}
	// -l reads whole nodes: the cloud address and hostname show up.
	b, _ = Status(StatusOptions{Long: true}, nodes(t, []string{"lb-01.prod.example.com"}), clock)
	if want := "15 minutes ago, lb-01.prod.example.com, lb-01.public.example.com, 127.0.1.41, amazon 2.\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestSSHHostSelection(t *testing.T) {
	rows := []map[string]any{
		{"fqdn": "a.example.com", "cloud": map[string]any{"public_hostname": "a.public", "public_ssh_port": json.Number("2222")}},
		{"fqdn": "b.example.com", "cloud": map[string]any{"public_hostname": ""}},
		{"fqdn": nil, "target": nil},
	}
	hosts, stderr, exit := SSHHosts(rows)
	if len(hosts) != 2 || hosts[0].Host != "a.public" || hosts[0].Port != json.Number("2222") || hosts[1].Host != "b.example.com" || stderr != nil || exit != 0 {
		t.Errorf("got %+v %q %d", hosts, stderr, exit)
	}
	_, stderr, exit = SSHHosts(rows[2:])
	_, stderr2, _ := SSHHosts(append(rows[2:], rows[2]))
	if !strings.HasPrefix(string(stderr), "FATAL: 1 node found, ") || !strings.HasPrefix(string(stderr2), "FATAL: 2 nodes found, ") || exit != ExitSSH {
		t.Errorf("got %q %q %d", stderr, stderr2, exit)
	}
	if got := ConnectionRefused("::1", 22); got != "Connection refused - connect(2) for [::1]:22" {
		t.Errorf("got %q", got)
	}
}

func TestMessages(t *testing.T) {
	if got := string(Warning("a\nb")); got != "WARNING: a\n         b\n" {
		t.Errorf("got %q", got)
	}
	if got := string(HTTPError(500, "Internal Server Error", []byte(`{"error":["x","y"]}`), "", "", "")); got != "ERROR: internal server error\nResponse: x; y\n" {
		t.Errorf("got %q", got)
	}
	if got := FuzzyNodeQuery("web"); got != "tags:*web* OR roles:*web* OR fqdn:*web* OR addresses:*web* OR policy_name:*web* OR policy_group:*web*" {
		t.Errorf("got %q", got)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range Commands() {
		h, ok := Help(c)
		if !ok || !strings.HasPrefix(h, "knife "+c) || !strings.HasSuffix(h, "    -h, --help                       Show this help message.\n") {
			t.Errorf("%s: %q", c, h)
		}
	}
	h, _ := Help("status")
	if !strings.Contains(h, "\n    -s, --sort-reverse ") || !strings.Contains(h, "\n        --server-url URL ") {
		t.Errorf("status: the later -s should win:\n%s", h)
	}
}

func TestInvalidFormat(t *testing.T) {
	out := InvalidFormat("node list", "xml")
	if out.Exit != ExitBadOption || !strings.HasPrefix(string(out.Stdout), "-F/--format: xml is not one of the allowed values: 'summary', 'text', 'json', 'yaml', or 'pp'\nknife node list (options)\n") {
		t.Errorf("got %+v", out)
	}
}
