package knife

import (
	"strconv"
	"strings"
)

// SSHFilter is the partial-search body `knife ssh` POSTs: fqdn and cloud
// always, "target" for -a ATTR and "prefix" for --prefix-attribute, both
// split on ".".
func SSHFilter(attribute, prefixAttribute string) map[string][]string {
	f := map[string][]string{"fqdn": {"fqdn"}, "cloud": {"cloud"}}
	if prefixAttribute != "" {
		f["prefix"] = rubySplit(prefixAttribute, ".")
	}
	if attribute != "" {
		f["target"] = rubySplit(attribute, ".")
	}
	return f
}

// SSHHost is one host `knife ssh` connects to.
type SSHHost struct {
	Host   string
	Port   any    // cloud.public_ssh_port, nil when absent
	Prefix string // output prefix: the prefix attribute, else the host
}

// SSHHosts is knife ssh's host selection over the partial-search rows for
// SSHFilter: the -a attribute ("target") when set, else a non-empty
// cloud.public_hostname, else fqdn; rows with none are skipped. When nothing
// is left it returns knife's FATAL message and ExitSSH ("No nodes returned
// from search", or "N node(s) found, but does not have the required
// attribute ..."); otherwise stderr is nil and exit is 0.
func SSHHosts(rows []map[string]any) (hosts []SSHHost, stderr []byte, exit int) {
	for _, item := range rows {
		if item == nil {
			continue
		}
		var host any
		cloud, _ := item["cloud"].(map[string]any)
		switch {
		case truthy(item["target"]):
			host = item["target"]
		case cloud != nil && rubyToS(cloud["public_hostname"]) != "":
			host = cloud["public_hostname"]
		default:
			host = item["fqdn"]
		}
		if host == nil {
			continue
		}
		h := SSHHost{Host: rubyToS(host), Prefix: rubyToS(host)}
		if truthy(item["prefix"]) {
			h.Prefix = rubyToS(item["prefix"])
		}
		if cloud != nil {
			h.Port = cloud["public_ssh_port"]
		}
		hosts = append(hosts, h)
	}
	if len(hosts) > 0 {
		return hosts, nil, ExitOK
	}
	if len(rows) == 0 {
		return nil, Fatal("No nodes returned from search"), ExitSSH
	}
	noun := "node"
	if len(rows) > 1 {
		noun = "nodes"
	}
	return nil, Fatal(strconv.Itoa(len(rows)) + " " + noun + " found, " +
		"but does not have the required attribute to establish the connection. " +
		"Try setting another attribute to open the connection using --attribute."), ExitSSH
}

// SSHConnectFailed is the warning knife ssh prints for a host it could not
// connect to (without --exit-on-error), e.g.
// SSHConnectFailed("127.0.0.11", "Errno::ECONNREFUSED", ConnectionRefused("127.0.0.11", 22)).
// knife connects to all hosts at once, so the order of these lines is not
// fixed.
func SSHConnectFailed(host, errorClass, message string) []byte {
	return Warning("Failed to connect to " + host + " -- " + errorClass + ": " + message)
}

// ConnectionRefused is Ruby's Errno::ECONNREFUSED message for a TCP connect
// to addr (an IP address) and port.
func ConnectionRefused(addr string, port int) string {
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return "Connection refused - connect(2) for " + addr + ":" + strconv.Itoa(port)
}
