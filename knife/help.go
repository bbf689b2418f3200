package knife

import (
	"sort"
	"strings"
	"sync"
)

// option is one mixlib-cli option as knife 16.12.3 declares it: the key it
// sorts by, and the short/long strings and description handed to
// OptionParser#on.
type option struct {
	key, short, long, desc string
	tail                   bool
}

// commonOptions are Chef::Application::Knife's options, merged into every
// subcommand (a subcommand's own option with the same key replaces one).
var commonOptions = []option{
	{key: "config_file", short: "-c CONFIG", long: "--config CONFIG", desc: "The configuration file to use."},
	{key: "config_option", long: "--config-option OPTION=VALUE", desc: "Override a single configuration option."},
	{key: "verbosity", short: "-V", long: "--verbose", desc: "More verbose output. Use twice (-VV) for additional verbosity and three times (-VVV) for maximum verbosity."},
	{key: "color", long: "--[no-]color", desc: "Use colored output, defaults to enabled."},
	{key: "environment", short: "-E ENVIRONMENT", long: "--environment ENVIRONMENT", desc: "Set the Chef Infra Client environment (except for in searches, where this will be flagrantly ignored)."},
	{key: "editor", short: "-e EDITOR", long: "--editor EDITOR", desc: "Set the editor to use for interactive commands."},
	{key: "disable_editing", short: "-d", long: "--disable-editing", desc: "Do not open EDITOR, just accept the data as is."},
	{key: "help", short: "-h", long: "--help", desc: "Show this help message.", tail: true},
	{key: "node_name", short: "-u USER", long: "--user USER", desc: "Chef Infra Server API client username."},
	{key: "client_key", short: "-k KEY", long: "--key KEY", desc: "Chef Infra Server API client key."},
	{key: "chef_server_url", short: "-s URL", long: "--server-url URL", desc: "Chef Infra Server URL."},
	{key: "yes", short: "-y", long: "--yes", desc: "Say yes to all prompts for confirmation."},
	{key: "defaults", long: "--defaults", desc: "Accept default values for all questions."},
	{key: "print_after", long: "--print-after", desc: "Show the data after a destructive operation."},
	{key: "format", short: "-F FORMAT", long: "--format FORMAT", desc: "Which format to use for output. (valid options: 'summary', 'text', 'json', 'yaml', or 'pp')"},
	{key: "local_mode", short: "-z", long: "--local-mode", desc: "Point knife commands at local repository instead of Chef Infra Server."},
	{key: "chef_zero_host", long: "--chef-zero-host HOST", desc: "Host to start Chef Infra Zero on."},
	{key: "chef_zero_port", long: "--chef-zero-port PORT", desc: "Port (or port range) to start Chef Infra Zero on. Port ranges like 1000,1010 or 8889-9999 will try all given ports until one works."},
	{key: "listen", long: "--[no-]listen", desc: "Whether a local mode (-z) server binds to a port."},
	{key: "version", short: "-v", long: "--version", desc: "Show Chef Infra Client version."},
	{key: "fips", long: "--[no-]fips", desc: "Enable FIPS mode."},
	{key: "profile", long: "--profile PROFILE", desc: "The credentials profile to select."},
}

// Knife::Core::MultiAttributeReturnOption.
var multiAttributeOptions = []option{
	{key: "field_separator", short: "-S SEPARATOR", long: "--field-separator SEPARATOR", desc: `Character separator used to delineate nesting in --attribute filters (default ".")`},
	{key: "attribute", short: "-a ATTR1 [-a ATTR2]", long: "--attribute ATTR1 [--attribute ATTR2] ", desc: "Show one or more attributes"},
}

// Knife::Core::FormattingOptions.
var formattingOptions = []option{
	{key: "medium_output", short: "-m", long: "--medium", desc: "Include normal attributes in the output"},
	{key: "long_output", short: "-l", long: "--long", desc: "Include all attributes in the output"},
}

var withURIOption = option{key: "with_uri", short: "-w", long: "--with-uri", desc: "Show corresponding URIs."}

// Knife::DataBagSecretOptions.
var dataBagSecretOptions = []option{
	{key: "cl_secret", long: "--secret SECRET", desc: "The secret key to use to encrypt data bag item values. Can also be defaulted in your config with the key 'secret'."},
	{key: "cl_secret_file", long: "--secret-file SECRET_FILE", desc: "A file containing the secret key to use to encrypt data bag item values. Can also be defaulted in your config with the key 'secret_file'."},
	{key: "encrypt", long: "--encrypt", desc: "If 'secret' or 'secret_file' is present in your config, then encrypt data bags using it."},
}

type command struct {
	banner  string
	options [][]option
}

func opts(o ...option) []option { return o }

// commands is built on first use (Help, Commands): package init runs on
// every gnife start, and most runs print no option help.
var commands = sync.OnceValue(func() map[string]command {
	c := readCommands()
	addWriteCommands(c)
	return c
})

func readCommands() map[string]command {
	return map[string]command{
		"search": {"knife search INDEX QUERY (options)", [][]option{multiAttributeOptions, formattingOptions, opts(
			option{key: "start", short: "-b ROW", long: "--start ROW", desc: "The row to start returning results at."},
			option{key: "rows", short: "-R INT", long: "--rows INT", desc: "The number of rows to return."},
			option{key: "run_list", short: "-r", long: "--run-list", desc: "Show only the run list."},
			option{key: "id_only", short: "-i", long: "--id-only", desc: "Show only the ID of matching objects."},
			option{key: "query", short: "-q QUERY", long: "--query QUERY", desc: "The search query; useful to protect queries starting with -."},
			option{key: "filter_result", short: "-f FILTER", long: "--filter-result FILTER", desc: `Only return specific attributes of the matching objects; for example: "ServerName=name, Kernel=kernel.version".`},
		)}},
		"node list": {"knife node list (options)", [][]option{opts(withURIOption)}},
		"node show": {"knife node show NODE (options)", [][]option{formattingOptions, multiAttributeOptions, opts(
			option{key: "run_list", short: "-r", long: "--run-list", desc: "Show only the run list."},
			option{key: "environment", short: "-E", long: "--environment", desc: "Show only the Chef Infra Client environment."},
		)}},
		"role list":        {"knife role list (options)", [][]option{opts(withURIOption)}},
		"role show":        {"knife role show ROLE (options)", [][]option{multiAttributeOptions}},
		"environment list": {"knife environment list (options)", [][]option{opts(withURIOption)}},
		"environment show": {"knife environment show ENVIRONMENT (options)", [][]option{multiAttributeOptions}},
		"data bag list":    {"knife data bag list (options)", [][]option{opts(withURIOption)}},
		"data bag show":    {"knife data bag show BAG [ITEM] (options)", [][]option{dataBagSecretOptions}},
		"client list":      {"knife client list (options)", [][]option{opts(withURIOption)}},
		"client show":      {"knife client show CLIENT (options)", [][]option{multiAttributeOptions}},
		"status": {"knife status QUERY (options)", [][]option{formattingOptions, opts(
			option{key: "run_list", short: "-r", long: "--run-list", desc: "Show the run list"},
			option{key: "sort_reverse", short: "-s", long: "--sort-reverse", desc: "Sort the status list by last run time descending"},
			option{key: "hide_by_mins", long: "--hide-by-mins MINS", desc: "Hide nodes that have run chef-client in the last MINS minutes"},
		)}},
		"tag list": {"knife tag list NODE", nil},
		"ssh": {"knife ssh QUERY COMMAND (options)", [][]option{opts(
			option{key: "concurrency", short: "-C NUM", long: "--concurrency NUM", desc: "The number of concurrent connections."},
			option{key: "ssh_attribute", short: "-a ATTR", long: "--attribute ATTR", desc: "The attribute to use for opening the connection - default depends on the context."},
			option{key: "manual", short: "-m", long: "--manual-list", desc: "QUERY is a space separated list of servers."},
			option{key: "prefix_attribute", long: "--prefix-attribute ATTR", desc: "The attribute to use for prefixing the output - default depends on the context."},
			option{key: "ssh_user", short: "-x USERNAME", long: "--ssh-user USERNAME", desc: "The ssh username."},
			option{key: "ssh_password", short: "-P [PASSWORD]", long: "--ssh-password [PASSWORD]", desc: "The ssh password - will prompt if flag is specified but no password is given."},
			option{key: "ssh_port", short: "-p PORT", long: "--ssh-port PORT", desc: "The ssh port."},
			option{key: "ssh_timeout", short: "-t SECONDS", long: "--ssh-timeout SECONDS", desc: "The ssh connection timeout."},
			option{key: "ssh_gateway", short: "-G GATEWAY", long: "--ssh-gateway GATEWAY", desc: "The ssh gateway."},
			option{key: "ssh_gateway_identity", long: "--ssh-gateway-identity SSH_GATEWAY_IDENTITY", desc: "The SSH identity file used for gateway authentication."},
			option{key: "forward_agent", short: "-A", long: "--forward-agent", desc: "Enable SSH agent forwarding."},
			option{key: "ssh_identity_file", short: "-i IDENTITY_FILE", long: "--ssh-identity-file IDENTITY_FILE", desc: "The SSH identity file used for authentication."},
			option{key: "host_key_verify", long: "--[no-]host-key-verify", desc: "Verify host key, enabled by default."},
			option{key: "on_error", short: "-e", long: "--exit-on-error", desc: "Immediately exit if an error is encountered."},
			option{key: "duplicated_fqdns", long: "--duplicated-fqdns", desc: "Behavior if FQDNs are duplicated, ignored by default."},
			option{key: "tmux_split", long: "--tmux-split", desc: "Split tmux window."},
		)}},
	}
}

// Commands lists the subcommands Help knows, sorted.
func Commands() []string {
	out := make([]string, 0, len(commands()))
	for k := range commands() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Help is knife's option parser text for a subcommand ("search",
// "node show", "ssh", ... see Commands): the banner line, then every
// option, common ones included, sorted by option key with -h last, laid out
// by Ruby's OptionParser (32-column left part, 4-space indent). It is what
// `knife search` prints on stdout without a query and, after "USAGE: ",
// what show commands print when the name is missing.
func Help(cmd string) (string, bool) {
	c, ok := commands()[cmd]
	if !ok {
		return "", false
	}
	merged := map[string]option{}
	for _, o := range commonOptions {
		merged[o.key] = o
	}
	for _, group := range c.options {
		for _, o := range group {
			merged[o.key] = o
		}
	}
	var list, tail []option
	for _, o := range merged {
		if o.tail {
			tail = append(tail, o)
		} else {
			list = append(list, o)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].key < list[j].key })
	var b strings.Builder
	b.WriteString(c.banner + "\n")
	// OptionParser::List#summarize walks its options backwards, so when two
	// options share a switch (status's -s, ssh's -e) the later one, which is
	// also the one that wins when parsing, keeps it in the listing.
	sdone, ldone := map[string]bool{}, map[string]bool{}
	lines := make([]string, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		var lb strings.Builder
		summarize(&lb, list[i], sdone, ldone)
		lines[i] = lb.String()
	}
	for _, l := range lines {
		b.WriteString(l)
	}
	for _, o := range tail {
		summarize(&b, o, sdone, ldone)
	}
	return b.String(), true
}

var (
	longNoRe = lazyRE(`^--\[no-\]([^\[\]=\s]*)(.+)?$`)
	longRe   = lazyRE(`^--([^\[\]=\s]*)(.+)?$`)
	shortRe  = lazyRE(`^-(.)(.+)?$`)
)

// summarize is OptionParser::Switch#summarize with width 32, max 31 and a
// 4-space indent. A switch already listed (sdone/ldone) is hidden.
func summarize(b *strings.Builder, o option, sdone, ldone map[string]bool) {
	const width, maxw, indent = 32, 31, "    "
	var sopts, lopts []string
	var arg string
	hasArg := false
	if o.short != "" {
		if m := shortRe.FindStringSubmatch(o.short); m != nil {
			s := "-" + m[1]
			if !sdone[s] {
				sopts = append(sopts, s)
			}
			sdone[s] = true
			if m[2] != "" {
				arg, hasArg = m[2], true
			}
		}
	}
	if o.long != "" {
		var l string
		if m := longNoRe.FindStringSubmatch(o.long); m != nil {
			l = "--[no-]" + m[1]
			if m[2] != "" {
				arg, hasArg = m[2], true
			}
		} else if m := longRe.FindStringSubmatch(o.long); m != nil {
			l = "--" + m[1]
			if m[2] != "" {
				arg, hasArg = m[2], true
			}
		}
		if l != "" {
			if !ldone[l] {
				lopts = append(lopts, l)
			}
			ldone[l] = true
		}
	}
	if len(sopts) == 0 && len(lopts) == 0 {
		return
	}
	left := []string{strings.Join(sopts, ", ")}
	right := []string{o.desc}
	for _, s := range lopts {
		l := len(left[len(left)-1]) + len(s)
		if len(left) == 1 && hasArg {
			l += len(arg)
		}
		if !(l < maxw || len(sopts) == 0) {
			left = append(left, "")
		}
		if left[len(left)-1] == "" {
			left[len(left)-1] += "    " + s
		} else {
			left[len(left)-1] += ", " + s
		}
	}
	if hasArg {
		if len(left) > 1 {
			a := arg
			if strings.HasPrefix(a, "=") {
				a = a[1:]
			} else if strings.HasPrefix(a, "[=") {
				a = "[" + a[2:]
			}
			left[0] += a + ","
		} else {
			left[0] += arg
		}
	}
	maxLen := func() int {
		m := 0
		for _, s := range left {
			if len(s) > m {
				m = len(s)
			}
		}
		return m
	}
	mlen := maxLen()
	for mlen > width && len(left) > 0 {
		l := left[0]
		left = left[1:]
		if len(l) == mlen {
			mlen = maxLen()
		}
		if len(l) < width && len(right) > 0 && right[0] != "" {
			l = pad(l, width) + " " + right[0]
			right = right[1:]
		}
		b.WriteString(indent + l + "\n")
	}
	for len(left) > 0 || len(right) > 0 {
		var l, r string
		if len(left) > 0 {
			l, left = left[0], left[1:]
		}
		if len(right) > 0 {
			r, right = right[0], right[1:]
		}
		if r != "" {
			l = pad(l, width) + " " + r
		}
		b.WriteString(indent + l + "\n")
	}
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// Usage is what a knife command prints when its required argument is
// missing: the help text on stdout ("USAGE: " + help for the show commands
// and tag list; the bare help for search and data bag show), the FATAL or
// ERROR line on stderr, and exit status 1.
func Usage(cmd string) (Output, bool) {
	help, ok := Help(cmd)
	if !ok {
		return Output{}, false
	}
	out := Output{Exit: ExitFailure}
	switch cmd {
	case "search":
		out.Stdout, out.Stderr = []byte(help), Error("No query specified")
	case "data bag show":
		out.Stdout = []byte(help)
	default:
		msgs := map[string]string{
			"node show":        "You must specify a node name",
			"role show":        "You must specify a role name.",
			"environment show": "You must specify an environment name",
			"client show":      "You must specify a client name",
			"tag list":         "You must specify a node name.",
		}
		msg, ok := msgs[cmd]
		if !ok {
			return Output{}, false
		}
		out.Stdout, out.Stderr = []byte("USAGE: "+help), Fatal(msg)
	}
	return out, true
}

// InvalidFormat is mixlib-cli's rejection of a -F value outside summary,
// text, json, yaml and pp, short forms such as "j" included (knife.rb's
// `in: %w{summary text json yaml pp}`; GenericPresenter's /^j/ prefixes are
// only reached from a knife.rb setting): the complaint, then the command's
// option listing (`puts @opt_parser`), on stdout, exit status 2
// (mixlib-cli 2.1.8, lib/mixlib/cli.rb parse_options and
// Formatter.combined_option_display_name / friendly_opt_list). A command
// knife does not have gets the complaint alone.
func InvalidFormat(cmd, value string) Output {
	help, _ := Help(cmd)
	msg := "-F/--format: " + value + " is not one of the allowed values: 'summary', 'text', 'json', 'yaml', or 'pp'\n"
	return Output{Stdout: []byte(msg + help), Exit: ExitBadOption}
}
