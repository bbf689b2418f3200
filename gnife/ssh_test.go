package gnife

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/integration"
)

// sshdAddrs are where the test sshd listens: the fixture's web nodes'
// ipaddress values (every 127/8 address is loopback on Linux) and
// 127.0.0.1 for the gateway.
var sshdAddrs = []string{"127.0.0.1", "127.0.0.11", "127.0.0.12", "127.0.0.13"}

// testSSHD is a real OpenSSH sshd with throwaway keys.
type testSSHD struct {
	port    int
	user    string
	key     string // the authorised user key
	other   string // a key sshd does not know
	keyPub  ssh.PublicKey
	hostKey ssh.PublicKey
	log     *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writeKey writes a new ed25519 private key in OpenSSH format.
func writeKey(t *testing.T, path string) (ed25519.PrivateKey, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "gnife-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return priv, sp
}

// startSSHD runs /usr/sbin/sshd in the foreground on a free port of every
// address in sshdAddrs, and stops it when the test ends.
func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	integration.Needs(t, "sshd")
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Fatalf("sshd is missing (run make deps, or apt-get install -y openssh-server): %v", err)
	}
	dir := t.TempDir()
	d := &testSSHD{user: localUser(), key: filepath.Join(dir, "user_key"), other: filepath.Join(dir, "other_key"), log: &lockedBuffer{}}
	_, d.hostKey = writeKey(t, filepath.Join(dir, "host_key"))
	_, d.keyPub = writeKey(t, d.key)
	writeKey(t, d.other)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(d.keyPub), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd started by root insists on its privilege separation
		// directory, which Debian creates only when the service starts.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePortOnAll(t, sshdAddrs)
		var cfg strings.Builder
		for _, a := range sshdAddrs {
			fmt.Fprintf(&cfg, "ListenAddress %s\n", a)
		}
		fmt.Fprintf(&cfg, "Port %d\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n", port,
			filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"))
		cfg.WriteString("StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowTcpForwarding yes\nLogLevel VERBOSE\n")
		conf := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(conf, []byte(cfg.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", conf)
		cmd.Stdout, cmd.Stderr = d.log, d.log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if waitListening(sshdAddrs, port, exited) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				if t.Failed() {
					t.Logf("sshd log:\n%s", d.log.String())
				}
			})
			d.port = port
			return d
		}
		cmd.Process.Kill()
		<-exited
		// Another test may have taken the port between our check and
		// sshd's bind: try another one.
		t.Logf("sshd on port %d did not start:\n%s", port, d.log.String())
	}
	t.Fatalf("sshd did not start")
	return nil
}

func freePortOnAll(t *testing.T, addrs []string) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", addrs[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		var more []net.Listener
		for _, a := range addrs[1:] {
			m, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			more = append(more, m)
		}
		l.Close()
		for _, m := range more {
			m.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free on every address")
	return 0
}

func waitListening(addrs []string, port int, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(a, strconv.Itoa(port)), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				return false
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return false
			}
		}
	}
	return true
}

// closedPort is a port nothing listens on, on any of addrs.
func closedPort(t *testing.T, addrs ...string) int {
	t.Helper()
	return freePortOnAll(t, addrs)
}

// gnifeSSH runs gnife in-process against the fleet, through Run once
// commands.go lists ssh, and through the same steps until then.
func gnifeSSH(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	f := startFleet(t)
	var out, errOut bytes.Buffer
	streams := IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.srv.URL}}}
	env.IO = streams
	if findCommand(NewApp(env).Commands, "ssh") != nil {
		code = Run(args, streams, env)
	} else {
		app := NewApp(env)
		c := sshCommand(env)
		c.HideHelp = true
		c.OnUsageError = app.OnUsageError
		app.Commands = append(app.Commands, c)
		code = exitCode(app.Run(append([]string{"gnife"}, Permute(app, args)...)), streams)
	}
	return out.String(), errOut.String(), code
}

// isolateSSHUser gives the test an empty home and no agent, so that only
// the keys a test names can authenticate.
func isolateSSHUser(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	return home
}

func sortedLineList(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		l = nil
	}
	sort.Strings(l)
	return l
}

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	sort.Strings(want)
	g := sortedLineList(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n%s\nwant (any order):\n%s", what, strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// TestSSHAgainstSSHD runs gnife ssh against a real sshd listening on the
// web nodes' addresses: the command runs on every host the search finds,
// each output line carries its host, exit codes and failures read as
// knife's.
func TestSSHAgainstSSHD(t *testing.T) {
	d := startSSHD(t)
	port := strconv.Itoa(d.port)
	auth := []string{"-p", port, "-x", d.user, "-i", d.key, "--no-host-key-verify"}
	// SSH_CONNECTION's third word is the address the client reached, so
	// each line proves which host ran the command.
	const where = `echo "$SSH_CONNECTION" | cut -d" " -f3`

	t.Run("uptime on role:web", func(t *testing.T) {
		isolateSSHUser(t)
		out, errOut, code := gnifeSSH(t, append([]string{"ssh", "role:web", "uptime", "-a", "ipaddress"}, auth...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		lines := sortedLineList(out)
		if len(lines) != 3 {
			t.Fatalf("want one uptime line per web node, got:\n%s", out)
		}
		for i, ip := range []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"} {
			if !strings.HasPrefix(lines[i], ip+" ") || !strings.Contains(lines[i], "load average") {
				t.Errorf("line %q: want %q, a space, then uptime's output", lines[i], ip)
			}
		}
	})

	t.Run("each host runs the command", func(t *testing.T) {
		isolateSSHUser(t)
		out, _, code := gnifeSSH(t, append([]string{"ssh", "role:web", where, "-a", "ipaddress"}, auth...)...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		wantLines(t, "stdout", out, "127.0.0.11 127.0.0.11", "127.0.0.12 127.0.0.12", "127.0.0.13 127.0.0.13")
	})

	t.Run("prefix is left-justified to the longest", func(t *testing.T) {
		isolateSSHUser(t)
		out, _, code := gnifeSSH(t, append([]string{"ssh", "role:web", "echo a; echo; echo b", "-a", "ipaddress", "--prefix-attribute", "name", "-C", "1"}, auth...)...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		var want []string
		for _, p := range []string{"web-01.prod.example.com ", "web-02.prod.example.com ", "web-03.dev.example.com  "} {
			want = append(want, p+"a", p, p+"b")
		}
		wantLines(t, "stdout", out, want...)
	})

	t.Run("manual list, highest exit status, unfinished line dropped", func(t *testing.T) {
		isolateSSHUser(t)
		cmd := where + `; printf 'no newline'; case "$SSH_CONNECTION" in *127.0.0.12*) exit 7;; esac; exit 3`
		out, errOut, code := gnifeSSH(t, append([]string{"ssh", "-m", "127.0.0.11 127.0.0.12", cmd}, auth...)...)
		if code != 7 || errOut != "" {
			t.Errorf("exit %d, stderr %q; want 7 (the highest remote status) and no stderr", code, errOut)
		}
		wantLines(t, "stdout", out, "127.0.0.11 127.0.0.11", "127.0.0.12 127.0.0.12")
	})

	t.Run("unreachable host is a warning", func(t *testing.T) {
		isolateSSHUser(t)
		out, errOut, code := gnifeSSH(t, append([]string{"ssh", "-m", "127.0.0.11 127.0.0.14", where}, auth...)...)
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
		wantLines(t, "stdout", out, "127.0.0.11 127.0.0.11")
		wantLines(t, "stderr", errOut, "WARNING: Failed to connect to 127.0.0.14 -- Errno::ECONNREFUSED: Connection refused - connect(2) for 127.0.0.14:"+port)
	})

	t.Run("exit-on-error stops before running", func(t *testing.T) {
		isolateSSHUser(t)
		out, errOut, code := gnifeSSH(t, append([]string{"ssh", "-m", "127.0.0.11 127.0.0.14", where, "-e"}, auth...)...)
		want := "ERROR: Network Error: Connection refused - connect(2) for 127.0.0.14:" + port + "\nCheck your knife configuration and network settings\n"
		if code != 100 || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want 100, nothing, %q", code, out, errOut, want)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		isolateSSHUser(t)
		out, errOut, code := gnifeSSH(t, "ssh", "-m", "127.0.0.12", "true", "-p", port, "-x", d.user, "-i", d.other, "--no-host-key-verify")
		if code != 0 || out != "" {
			t.Errorf("exit %d, stdout %q", code, out)
		}
		wantLines(t, "stderr", errOut, "WARNING: Failed to connect to 127.0.0.12 -- Net::SSH::AuthenticationFailed: Authentication failed for user "+d.user+"@127.0.0.12")
	})

	t.Run("agent", func(t *testing.T) {
		isolateSSHUser(t)
		t.Setenv("SSH_AUTH_SOCK", serveAgent(t, d.key))
		out, errOut, code := gnifeSSH(t, "ssh", "-m", "127.0.0.13", where, "-p", port, "-x", d.user, "--no-host-key-verify")
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		wantLines(t, "stdout", out, "127.0.0.13 127.0.0.13")
	})

	t.Run("default key in ~/.ssh", func(t *testing.T) {
		home := isolateSSHUser(t)
		copyFile(t, d.key, filepath.Join(home, ".ssh", "id_ed25519"))
		out, errOut, code := gnifeSSH(t, "ssh", "-m", "127.0.0.13", where, "-p", port, "-x", d.user, "--no-host-key-verify")
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		wantLines(t, "stdout", out, "127.0.0.13 127.0.0.13")
	})

	t.Run("host keys are learned then checked", func(t *testing.T) {
		home := isolateSSHUser(t)
		// net-ssh remembers a host only in an existing ~/.ssh.
		os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
		args := []string{"ssh", "-m", "127.0.0.11", where, "-p", port, "-x", d.user, "-i", d.key}
		for run := 1; run <= 2; run++ {
			out, errOut, code := gnifeSSH(t, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("run %d: exit %d, stderr %q", run, code, errOut)
			}
			wantLines(t, "stdout", out, "127.0.0.11 127.0.0.11")
		}
		known, err := os.ReadFile(filepath.Join(home, ".ssh", "known_hosts"))
		if err != nil || !strings.Contains(string(known), "[127.0.0.11]:"+port) {
			t.Fatalf("known_hosts: %q, %v", known, err)
		}
		_, impostor := writeKey(t, filepath.Join(home, "impostor"))
		line := fmt.Sprintf("[127.0.0.11]:%s %s", port, ssh.MarshalAuthorizedKey(impostor))
		if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := gnifeSSH(t, args...)
		want := fmt.Sprintf("WARNING: Failed to connect to 127.0.0.11 -- Net::SSH::HostKeyMismatch: fingerprint %s does not match for \"[127.0.0.11]:%s\"\n", ssh.FingerprintSHA256(d.hostKey), port)
		if code != 0 || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0, nothing, %q", code, out, errOut, want)
		}
	})

	t.Run("through a gateway", func(t *testing.T) {
		isolateSSHUser(t)
		out, errOut, code := gnifeSSH(t, append([]string{"ssh", "-m", "127.0.0.12", where,
			"-G", d.user + "@127.0.0.1:" + port, "--ssh-gateway-identity", d.key}, auth...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		wantLines(t, "stdout", out, "127.0.0.12 127.0.0.12")
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serveAgent is an in-process ssh-agent holding the key at path.
func serveAgent(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	return sock
}

// TestSSHNothingToReach is knife's exit 10 and exit 0 cases, which need
// no sshd: no match, no usable attribute, and nothing listening.
func TestSSHNothingToReach(t *testing.T) {
	isolateSSHUser(t)
	const attrFatal = " found, but does not have the required attribute to establish the connection. Try setting another attribute to open the connection using --attribute.\n"
	cases := []struct {
		args       []string
		code       int
		err        string
		refusedFor []string
	}{
		{args: []string{"ssh", "role:nonexistent", "uptime", "-a", "ipaddress", "--no-host-key-verify"}, code: 10, err: "FATAL: No nodes returned from search\n"},
		{args: []string{"ssh", "name:build-agent-7", "uptime", "-a", "ipaddress", "--no-host-key-verify"}, code: 10, err: "FATAL: 1 node" + attrFatal},
		{args: []string{"ssh", "name:build-agent-7 OR name:new-node-01", "uptime", "--no-host-key-verify"}, code: 10, err: "FATAL: 2 nodes" + attrFatal},
		{args: []string{"ssh"}, code: 1, err: "FATAL: You must specify the SEARCH QUERY.\n"},
		{args: []string{"ssh", "role:web", "uptime", "-a", "ipaddress", "--no-host-key-verify"}, refusedFor: []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := c.args
			var want []string
			if c.refusedFor != nil {
				port := strconv.Itoa(closedPort(t, c.refusedFor...))
				args = append(args, "-p", port)
				for _, h := range c.refusedFor {
					want = append(want, "WARNING: Failed to connect to "+h+" -- Errno::ECONNREFUSED: Connection refused - connect(2) for "+h+":"+port)
				}
			}
			out, errOut, code := gnifeSSH(t, args...)
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			if c.refusedFor != nil {
				wantLines(t, "stderr", errOut, want...)
				if out != "" {
					t.Errorf("stdout %q, want nothing", out)
				}
				return
			}
			if errOut != c.err {
				t.Errorf("stderr %q, want %q", errOut, c.err)
			}
			if c.code == 1 && !strings.HasPrefix(out, "USAGE: knife ssh QUERY COMMAND (options)\n") {
				t.Errorf("stdout %q, want the usage", out)
			}
		})
	}
}
