package gnife

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/shearch/shearch/api"
)

// gnifeSSHIn is gnifeSSH with stdin.
func gnifeSSHIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	f := startFleet(t)
	var out, errOut bytes.Buffer
	streams := IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.srv.URL}}}
	code = Run(args, streams, env)
	return out.String(), errOut.String(), code
}

func hashedHost(name string) string {
	salt := []byte("0123456789abcdefghij")
	m := hmac.New(sha1.New, salt)
	m.Write([]byte(name))
	return "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func knownLine(hosts string, k ssh.PublicKey) string {
	return hosts + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + "\n"
}

// The host-key check is net-ssh 6.1's accept_new_or_local_tunnel, which
// knife 16.12.3 uses, rule for rule: which known_hosts lines count for a
// host, what a mismatch is, what is remembered where, and which peers are
// not checked at all.
func TestHostKeyCheckIsNetSSHs(t *testing.T) {
	dir := t.TempDir()
	_, served := writeKey(t, filepath.Join(dir, "served"))
	_, other := writeKey(t, filepath.Join(dir, "other"))
	peer := &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 2222}
	for _, tc := range []struct {
		what, known, host string
		port              int
		remote            *net.TCPAddr
		mismatch          bool
		remembered        string // the line added to known_hosts, "" for none
	}{
		{what: "unknown host: trusted, remembered by name and address", host: "web-01", port: 2222, remote: peer,
			remembered: "[web-01]:2222,[10.0.0.5]:2222"},
		{what: "port 22 is not bracketed", host: "web-01", port: 22, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 22},
			remembered: "web-01,10.0.0.5"},
		{what: "known by name with another key", known: knownLine("[web-01]:2222", other), host: "web-01", port: 2222, remote: peer, mismatch: true},
		{what: "known by name, one of its keys matches", known: knownLine("[web-01]:2222", other) + knownLine("[web-01]:2222", served), host: "web-01", port: 2222, remote: peer},
		{what: "a hashed entry of the address counts", known: knownLine(hashedHost("[10.0.0.5]:2222"), other), host: "web-01", port: 2222, remote: peer, mismatch: true},
		{what: "a plain entry of the address does not", known: knownLine("[10.0.0.5]:2222", other), host: "web-01", port: 2222, remote: peer,
			remembered: "[web-01]:2222,[10.0.0.5]:2222"},
		{what: "* does not cross a dot", known: knownLine("*.example", other), host: "web-01.prod.example", port: 22, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 22},
			remembered: "web-01.prod.example,10.0.0.5"},
		{what: "* within a label", known: knownLine("web-*.example", other), host: "web-01.example", port: 22, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 22}, mismatch: true},
		{what: "? is one character", known: knownLine("web-0?", other), host: "web-01", port: 22, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 22}, mismatch: true},
		{what: "@cert-authority lines are skipped", known: "@cert-authority " + knownLine("web-01", other), host: "web-01", port: 22, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 22},
			remembered: "web-01,10.0.0.5"},
		{what: "a loopback peer off port 22 is a tunnel: not checked", known: knownLine("[localhost]:2222", other), host: "localhost", port: 2222, remote: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 2222}},
		{what: "a loopback peer on port 22 is checked", known: knownLine("localhost", other), host: "localhost", port: 22, remote: &net.TCPAddr{IP: net.ParseIP("::1"), Port: 22}, mismatch: true},
	} {
		t.Run(tc.what, func(t *testing.T) {
			home := isolateSSHUser(t)
			os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
			file := filepath.Join(home, ".ssh", "known_hosts")
			if tc.known != "" {
				os.WriteFile(file, []byte(tc.known), 0o600)
			}
			err := newHostKeyVerifier().callback(tc.host, tc.port)(net.JoinHostPort(tc.host, strconv.Itoa(tc.port)), tc.remote, served)
			if tc.mismatch {
				var hk *hostKeyMismatchError
				if err == nil || !strings.Contains(err.Error(), "does not match for") || !errorsAs(err, &hk) {
					t.Fatalf("want HostKeyMismatch, got %v", err)
				}
			} else if err != nil {
				t.Fatalf("want the key taken, got %v", err)
			}
			got, _ := os.ReadFile(file)
			added := strings.TrimPrefix(string(got), tc.known)
			want := ""
			if tc.remembered != "" {
				want = knownLine(tc.remembered, served)
			}
			if added != want {
				t.Fatalf("known_hosts gained %q, want %q", added, want)
			}
		})
	}
	// net-ssh does not make ~/.ssh: without it, nothing is remembered.
	home := isolateSSHUser(t)
	if err := newHostKeyVerifier().callback("web-01", 22)("web-01:22", peer, served); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, ".ssh")); err == nil {
		t.Fatal("~/.ssh was created")
	}
}

func errorsAs(err error, target **hostKeyMismatchError) bool {
	e, ok := err.(*hostKeyMismatchError)
	*target = e
	return ok
}

// Through sshd: a known_hosts pattern whose * would have to cross a dot
// does not apply to the host (net-ssh), so the host is learned and the
// command runs; -P with a value warns, -P alone asks on stdout.
func TestSSHHostKeyPatternsAndPasswordPrompt(t *testing.T) {
	d := startSSHD(t)
	port := strconv.Itoa(d.port)
	const where = `echo "$SSH_CONNECTION" | cut -d" " -f3`

	home := isolateSSHUser(t)
	os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
	_, impostor := writeKey(t, filepath.Join(home, "impostor"))
	file := filepath.Join(home, ".ssh", "known_hosts")
	os.WriteFile(file, []byte(knownLine("[127.*]:"+port, impostor)), 0o600)
	out, errOut, code := gnifeSSHIn(t, "", "ssh", "-m", "127.0.0.11", where, "-p", port, "-x", d.user, "-i", d.key)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	wantLines(t, "stdout", out, "127.0.0.11 127.0.0.11")
	if got, _ := os.ReadFile(file); !strings.Contains(string(got), knownLine("[127.0.0.11]:"+port, d.hostKey)) {
		t.Fatalf("known_hosts: %q", got)
	}

	auth := []string{"-p", port, "-x", d.user, "-i", d.key, "--no-host-key-verify"}
	out, errOut, code = gnifeSSHIn(t, "", append([]string{"ssh", "-m", "127.0.0.12", where, "-P", "hunter2"}, auth...)...)
	if code != 0 || !strings.Contains(errOut, "WARNING: -P PASSWORD puts the password on the command line") || strings.Contains(errOut, "hunter2") {
		t.Fatalf("-P hunter2: exit %d, stderr %q", code, errOut)
	}
	wantLines(t, "stdout", out, "127.0.0.12 127.0.0.12")
	for _, args := range [][]string{
		append([]string{"ssh", "-m", "127.0.0.12", where}, append(auth, "-P")...),
		append([]string{"ssh", "-m", "127.0.0.12", where, "--ssh-password"}, auth...),
	} {
		out, errOut, code = gnifeSSHIn(t, "hunter2\n", args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "Enter your password: \n") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		wantLines(t, "stdout", strings.TrimPrefix(out, "Enter your password: \n"), "127.0.0.12 127.0.0.12")
	}
	_, errOut, code = gnifeSSHIn(t, "", append([]string{"ssh", "-m", "127.0.0.12", where}, append(auth, "-P")...)...)
	if code != ExitUsage || !strings.Contains(errOut, "asks for the password") {
		t.Fatalf("-P with nothing on stdin: exit %d, stderr %q", code, errOut)
	}
}

// A config file that holds a token and that other users may read gets a
// warning on every run; one only its owner reads does not.
func TestConfigFileWithTokenReadableByOthers(t *testing.T) {
	f := startFleet(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	t.Setenv("GNIFE_CONFIG", path)
	t.Setenv("SHEARCH_TOKEN", "")
	t.Setenv("SHEARCH_URL", f.srv.URL)
	run := func() string {
		var out, errOut bytes.Buffer
		Run([]string{"node", "list"}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, nil)
		return errOut.String()
	}
	for _, tc := range []struct {
		text string
		mode os.FileMode
		warn bool
	}{
		{"token: s3cret\n", 0o644, true},
		{"token: s3cret\n", 0o640, true},
		{"token: s3cret\n", 0o600, false},
		{"stack: prod\n", 0o644, false},
	} {
		os.WriteFile(path, []byte(tc.text), 0o600)
		os.Chmod(path, tc.mode)
		got := run()
		want := fmt.Sprintf("WARNING: gnife config %s holds a token and other users may read it (mode %04o): chmod 600 %s", path, tc.mode, path)
		if tc.warn != strings.Contains(got, want) || strings.Contains(got, "s3cret") {
			t.Errorf("%q mode %04o: stderr %q; want the warning: %v", tc.text, tc.mode, got, tc.warn)
		}
	}
}
