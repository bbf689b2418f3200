package gnife

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// knife 16.12.3 connects with net-ssh 6.1 and sets no verify_host_key of
// its own, so net-ssh's default verifier, accept_new_or_local_tunnel,
// decides; --no-host-key-verify sets :never and a /dev/null known-hosts
// file. This file is that verifier, rule for rule
// (lib/net/ssh/verifiers/accept_new_or_local_tunnel.rb, known_hosts.rb),
// rather than x/crypto's knownhosts, whose matching differs: it checks a
// hostname entry only (net-ssh also takes a hashed entry of the address),
// and its * crosses dots (net-ssh's does not).

// netSSHKeyTypes are the key types net-ssh 6.1 reads from known_hosts;
// other lines (certificates, @cert-authority, @revoked, sk-*) are skipped.
var netSSHKeyTypes = map[string]bool{"ssh-rsa": true, "ssh-dss": true, "ecdsa-sha2-nistp256": true,
	"ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true, "ssh-ed25519": true}

// hostKeyVerifier is net-ssh's host-key check for one run.
type hostKeyVerifier struct {
	// userFiles are tried in turn to remember a new host; net-ssh does
	// not create the folder they are in.
	userFiles, files []string
	mu               sync.Mutex
}

func newHostKeyVerifier() *hostKeyVerifier {
	home, _ := os.UserHomeDir()
	user := []string{filepath.Join(home, ".ssh", "known_hosts"), filepath.Join(home, ".ssh", "known_hosts2")}
	return &hostKeyVerifier{userFiles: user, files: append(append([]string(nil), user...), "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")}
}

// hostString is net-ssh's Session#host_as_string: the host, then the
// peer's address when it differs, each as [h]:port off port 22.
func hostString(host string, port int, ip string) string {
	name := func(h string) string {
		if port != 22 {
			return "[" + h + "]:" + strconv.Itoa(port)
		}
		return h
	}
	s := name(host)
	if ip != "" && ip != host {
		s += "," + name(ip)
	}
	return s
}

// tunnelled is net-ssh's test for a forwarded port: not port 22, and a
// peer of 127.0.0.1 or ::1. Such a host is not checked at all.
func tunnelled(port int, ip string) bool {
	return port != 22 && (ip == "127.0.0.1" || ip == "::1")
}

// keysFor is KnownHosts#keys_for over every known-hosts file: the lines
// whose host list has a pattern matching the host's name, or that are a
// hashed name of the host or of its address.
func (v *hostKeyVerifier) keysFor(hosts string) []ssh.PublicKey {
	entries := strings.Split(hosts, ",")
	var keys []ssh.PublicKey
	for _, f := range v.files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 || strings.HasPrefix(fields[0], "#") || !netSSHKeyTypes[fields[1]] {
				continue
			}
			list := strings.Split(fields[0], ",")
			found := false
			for _, p := range list {
				found = found || netSSHMatch(entries[0], p)
			}
			if !found && !knownHostHash(list, entries) {
				continue
			}
			blob, err := base64.StdEncoding.DecodeString(fields[2])
			if err != nil {
				continue
			}
			if k, err := ssh.ParsePublicKey(blob); err == nil {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// netSSHMatch is KnownHosts#match: exact, or with * standing for any run
// of characters but a dot and ? for one character.
func netSSHMatch(host, pattern string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return host == pattern
	}
	var re strings.Builder
	re.WriteString(`\A`)
	for i, star := range strings.Split(pattern, "*") {
		if i > 0 {
			re.WriteString(`[^.]*`)
		}
		for j, q := range strings.Split(star, "?") {
			if j > 0 {
				re.WriteString(".")
			}
			re.WriteString(regexp.QuoteMeta(q))
		}
	}
	re.WriteString(`\z`)
	m, err := regexp.MatchString(re.String(), host)
	return err == nil && m
}

// knownHostHash is KnownHosts#known_host_hash?: a lone |1|salt|hash entry
// that is the HMAC-SHA1 of one of the host's names.
func knownHostHash(list, entries []string) bool {
	if len(list) != 1 || !strings.HasPrefix(list[0], "|1|") {
		return false
	}
	chunks := strings.Split(list[0], "|")
	if len(chunks) != 4 {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(chunks[2])
	if err != nil {
		return false
	}
	for _, e := range entries {
		m := hmac.New(sha1.New, salt)
		m.Write([]byte(e))
		if base64.StdEncoding.EncodeToString(m.Sum(nil)) == chunks[3] {
			return true
		}
	}
	return false
}

// knownTypes lists the key types known for the host, to be asked for
// first, as net-ssh's algorithm negotiation does.
func (v *hostKeyVerifier) knownTypes(host string, port int, ip string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range v.keysFor(hostString(host, port, ip)) {
		t := k.Type()
		algs := []string{t}
		if t == ssh.KeyAlgoRSA {
			algs = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, a := range algs {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// callback checks a host's key as AcceptNewOrLocalTunnel does: a
// tunnelled peer passes; a host with no known key is trusted and
// remembered in the first user file that can be appended to; a known host
// passes when any of its keys is the one offered, else HostKeyMismatch.
func (v *hostKeyVerifier) callback(host string, port int) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		ip := ""
		if ta, ok := remote.(*net.TCPAddr); ok {
			ip = ta.IP.String()
		}
		if tunnelled(port, ip) {
			return nil
		}
		hosts := hostString(host, port, ip)
		v.mu.Lock()
		defer v.mu.Unlock()
		known := v.keysFor(hosts)
		for _, k := range known {
			if k.Type() == key.Type() && bytes.Equal(k.Marshal(), key.Marshal()) {
				return nil
			}
		}
		if len(known) > 0 {
			return &hostKeyMismatchError{fmt.Sprintf("fingerprint %s does not match for %q", ssh.FingerprintSHA256(key), hosts)}
		}
		line := hosts + " " + key.Type() + " " + base64.StdEncoding.EncodeToString(key.Marshal()) + "\n"
		for _, f := range v.userFiles {
			fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				continue
			}
			_, err = fh.WriteString(line)
			fh.Close()
			if err == nil {
				break
			}
		}
		return nil
	}
}
