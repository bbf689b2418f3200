package gnife

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/shearch/shearch/knife"
)

// This file is gnife ssh's connection side, shaped after net-ssh as knife
// uses it: who we log in as and with which keys, how host keys are
// trusted, and how a failure is named in knife's warning.

// setup prepares what every connection shares; only a gateway that
// cannot be reached fails it.
func (r *sshRunner) setup() error {
	r.user = r.o.User
	if r.user == "" {
		r.user = localUser()
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			r.agentFD, r.agent = c, agent.NewClient(c)
		}
	}
	if r.o.HostKeyVerify {
		r.hostKeys = newHostKeyVerifier()
	}
	r.auth = r.authMethods(r.o.IdentityFile)
	if r.o.Gateway != "" {
		return r.connectGateway()
	}
	return nil
}

func (r *sshRunner) close() {
	if r.gateway != nil {
		r.gateway.Close()
	}
	if r.agentFD != nil {
		r.agentFD.Close()
	}
}

// authMethods is net-ssh's choice: with an identity file, that key alone
// (from the file, or from the agent when the file is locked by a
// passphrase); otherwise the agent's keys and ~/.ssh/id_*; then the
// password when one was given.
func (r *sshRunner) authMethods(identity string) []ssh.AuthMethod {
	var signers []ssh.Signer
	if identity != "" {
		signers = r.identitySigners(expandHome(identity))
	} else {
		if r.agent != nil {
			if s, err := r.agent.Signers(); err == nil {
				signers = append(signers, s...)
			}
		}
		home, _ := os.UserHomeDir()
		for _, name := range []string{"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"} {
			if s, err := loadSigner(filepath.Join(home, ".ssh", name)); err == nil {
				signers = append(signers, s)
			}
		}
	}
	var m []ssh.AuthMethod
	if len(signers) > 0 {
		m = append(m, ssh.PublicKeys(signers...))
	}
	if r.o.Password != "" {
		pw := r.o.Password
		m = append(m, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, q []string, _ []bool) ([]string, error) {
			a := make([]string, len(q))
			for i := range a {
				a[i] = pw
			}
			return a, nil
		}))
	}
	return m
}

func (r *sshRunner) identitySigners(path string) []ssh.Signer {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return []ssh.Signer{s}
	}
	var locked *ssh.PassphraseMissingError
	if !errors.As(err, &locked) || r.agent == nil {
		return nil
	}
	pub := locked.PublicKey
	if pub == nil {
		if b, err := os.ReadFile(path + ".pub"); err == nil {
			pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
		}
	}
	all, _ := r.agent.Signers()
	for _, s := range all {
		if pub != nil && bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return []ssh.Signer{s}
		}
	}
	return nil
}

func loadSigner(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ssh.ParsePrivateKey(data)
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// connectGateway opens -G [user@]host[:port] with the gateway identity
// (not -i). Failing here ends the run, as the exception does in knife.
func (r *sshRunner) connectGateway() error {
	spec := r.o.Gateway
	gwUser := r.user
	if at := strings.LastIndex(spec, "@"); at >= 0 {
		gwUser, spec = spec[:at], spec[at+1:]
	}
	host, port := spec, "22"
	if h, p, ok := strings.Cut(spec, ":"); ok {
		host, port = h, p
	}
	portN, err := sshPort(port)
	if err != nil {
		return sshFatal("SocketError", "getaddrinfo: Servname not supported for ai_socktype")
	}
	auth := r.authMethods(r.o.GatewayIdentity)
	c, err := r.dial(context.Background(), host, portN, gwUser, auth, nil)
	if err != nil {
		class, msg := rubySSHError(err, host, portN, gwUser)
		return sshFatal(class, msg)
	}
	r.gateway = c
	return nil
}

// sshFatal is how knife reports an exception that escapes its run.
func sshFatal(class, msg string) error {
	switch class {
	case "Errno::ECONNREFUSED", "Errno::ETIMEDOUT", "SocketError":
		return &ExitError{Code: ExitNotFound, Stderr: "ERROR: Network Error: " + msg + "\nCheck your knife configuration and network settings\n"}
	}
	return &ExitError{Code: ExitNotFound, Stderr: "ERROR: " + class + ": " + msg + "\n"}
}

func sshPort(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	return net.LookupPort("tcp", s)
}

// hostPort is the port for h: -p, else the node's cloud.public_ssh_port,
// else 22.
func (r *sshRunner) hostPort(h knife.SSHHost) (int, error) {
	switch {
	case r.o.Port != "":
		return sshPort(r.o.Port)
	case h.Port != nil:
		return sshPort(strings.TrimSpace(fmt.Sprint(h.Port)))
	}
	return 22, nil
}

func (r *sshRunner) connect(c *sshConn) {
	c.port, c.err = r.hostPort(c.h)
	if c.err != nil {
		c.err = &net.DNSError{Err: "Servname not supported for ai_socktype", Name: c.h.Host}
		return
	}
	c.client, c.err = r.dial(context.Background(), c.h.Host, c.port, r.user, r.auth, r.gateway)
}

// dial opens a TCP connection (through the gateway when there is one)
// and the SSH session on it, both within the -t timeout.
func (r *sshRunner) dial(ctx context.Context, host string, port int, user string, auth []ssh.AuthMethod, via *ssh.Client) (*ssh.Client, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	timeout := r.o.Timeout
	if timeout <= 0 {
		timeout = 120 * time.Second
	}
	var conn net.Conn
	var err error
	if via != nil {
		conn, err = via.Dial("tcp", addr)
		if err != nil {
			return nil, &gatewayError{err}
		}
	} else {
		d := net.Dialer{Timeout: timeout}
		if conn, err = d.DialContext(ctx, "tcp", addr); err != nil {
			return nil, err
		}
	}
	conn.SetDeadline(time.Now().Add(timeout))
	cfg := &ssh.ClientConfig{User: user, Auth: auth, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	// Through a gateway, knife (net-ssh-gateway) reaches a node at a
	// forwarded port of 127.0.0.1, which net-ssh takes for a tunnel and
	// does not check; only the gateway's own key is checked.
	if r.hostKeys != nil && via == nil {
		cfg.HostKeyCallback = r.hostKeys.callback(host, port)
		ip := ""
		if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			ip = ta.IP.String()
		}
		if known := r.hostKeys.knownTypes(host, port, ip); len(known) > 0 {
			cfg.HostKeyAlgorithms = appendMissing(known, ssh.SupportedAlgorithms().HostKeys)
		}
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// gatewayError is a connection the gateway could not forward.
type gatewayError struct{ err error }

func (e *gatewayError) Error() string { return e.err.Error() }

// hostKeyMismatchError is a host key that differs from known_hosts.
type hostKeyMismatchError struct{ msg string }

func (e *hostKeyMismatchError) Error() string { return e.msg }

// appendMissing is a followed by the entries of b it lacks.
func appendMissing(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// rubySSHError names a connection failure as net-ssh raises it under
// Ruby: the exception class and its message, for knife's
// "Failed to connect to HOST -- CLASS: MESSAGE".
func rubySSHError(err error, host string, port int, user string) (class, msg string) {
	var hk *hostKeyMismatchError
	var dns *net.DNSError
	var gw *gatewayError
	peer := host
	var op *net.OpError
	if errors.As(err, &op) {
		if ta, ok := op.Addr.(*net.TCPAddr); ok {
			peer = ta.IP.String()
		}
	}
	connect := func(what string) string {
		if strings.Contains(peer, ":") {
			return what + " - connect(2) for [" + peer + "]:" + strconv.Itoa(port)
		}
		return what + " - connect(2) for " + peer + ":" + strconv.Itoa(port)
	}
	var ne net.Error
	switch {
	case errors.As(err, &hk):
		return "Net::SSH::HostKeyMismatch", hk.msg
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return "Net::SSH::AuthenticationFailed", "Authentication failed for user " + user + "@" + host
	case errors.As(err, &dns):
		if dns.Err == "Servname not supported for ai_socktype" {
			return "SocketError", "getaddrinfo: " + dns.Err
		}
		if dns.IsNotFound {
			return "SocketError", "getaddrinfo: Name or service not known"
		}
		return "SocketError", "getaddrinfo: Temporary failure in name resolution"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Errno::ECONNREFUSED", knife.ConnectionRefused(peer, port)
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "Errno::EHOSTUNREACH", connect("No route to host")
	case errors.Is(err, syscall.ENETUNREACH):
		return "Errno::ENETUNREACH", connect("Network is unreachable")
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "Net::SSH::ConnectionTimeout", "Net::SSH::ConnectionTimeout"
	case errors.As(err, &gw), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "Net::SSH::Disconnect", "connection closed by remote host"
	}
	return "Net::SSH::Exception", err.Error()
}
