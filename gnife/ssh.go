package gnife

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/shearch/shearch/knife"
)

// SSHOptions are `gnife ssh`'s options, as knife ssh's.
type SSHOptions struct {
	Query           string
	Command         string
	Attribute       string
	PrefixAttribute string
	Manual          bool
	User            string
	Password        string
	Port            string
	Timeout         time.Duration
	IdentityFile    string
	Gateway         string
	GatewayIdentity string
	ForwardAgent    bool
	HostKeyVerify   bool
	ExitOnError     bool
	Concurrency     int
	DuplicatedFQDNs string
}

func sshCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "ssh",
		Usage:     "run a command on every node a search finds",
		ArgsUsage: "QUERY COMMAND",
		Flags: append(commonFlagsExcept("e"), // knife ssh's -e is --exit-on-error
			ignoredEnvironment(),
			// knife's common -F: checked against its allowed values, then unused.
			&cli.StringFlag{Name: "format", Aliases: []string{"F"}, Hidden: true},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"C"}},
			&cli.StringFlag{Name: "attribute", Aliases: []string{"a"}},
			&cli.BoolFlag{Name: "manual-list", Aliases: []string{"m"}},
			&cli.StringFlag{Name: "prefix-attribute"},
			&cli.StringFlag{Name: "ssh-user", Aliases: []string{"x"}},
			&cli.StringFlag{Name: "ssh-password", Aliases: []string{"P"}},
			// -P with no value (last, or before another option) asks for
			// the password, as knife's -P [PASSWORD] does; permute turns
			// it into this flag.
			&cli.BoolFlag{Name: passwordPromptFlag, Hidden: true},
			&cli.StringFlag{Name: "ssh-port", Aliases: []string{"p"}},
			&cli.IntFlag{Name: "ssh-timeout", Aliases: []string{"t"}, Value: 120},
			&cli.StringFlag{Name: "ssh-gateway", Aliases: []string{"G"}},
			&cli.StringFlag{Name: "ssh-gateway-identity"},
			&cli.BoolFlag{Name: "forward-agent", Aliases: []string{"A"}},
			&cli.StringFlag{Name: "ssh-identity-file", Aliases: []string{"i"}},
			// knife spells this --[no-]host-key-verify; urfave/cli has no
			// negatable booleans, so the negation is a flag of its own.
			&cli.BoolFlag{Name: "host-key-verify", Value: true},
			&cli.BoolFlag{Name: "no-host-key-verify"},
			&cli.BoolFlag{Name: "exit-on-error", Aliases: []string{"e"}},
			&cli.StringFlag{Name: "duplicated-fqdns", Value: "ignore"},
			&cli.BoolFlag{Name: "tmux-split"},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return helpExit("ssh", 0)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			args := c.Args().Slice()
			if len(args) < 1 {
				help, _ := knife.Help("ssh")
				return &ExitError{Code: ExitUsage, Stdout: "USAGE: " + help, Stderr: string(knife.Fatal("You must specify the SEARCH QUERY."))}
			}
			if len(args) > 1 {
				switch args[1] {
				case "interactive", "screen", "tmux", "macterm", "cssh":
					return exitf(ExitUsage, "ERROR: gnife ssh runs commands only; use knife ssh for %s sessions", args[1])
				}
			}
			password, err := sshPassword(c, env)
			if err != nil {
				return err
			}
			return runSSH(env, SSHOptions{
				Query: args[0], Command: strings.Join(args[1:], " "),
				Attribute: strings.TrimSpace(c.String("attribute")), PrefixAttribute: c.String("prefix-attribute"),
				Manual: c.Bool("manual-list"), User: strings.TrimSpace(c.String("ssh-user")),
				Password: password, Port: strings.TrimSpace(c.String("ssh-port")),
				Timeout:      time.Duration(c.Int("ssh-timeout")) * time.Second,
				IdentityFile: strings.TrimSpace(c.String("ssh-identity-file")),
				Gateway:      strings.TrimSpace(c.String("ssh-gateway")), GatewayIdentity: strings.TrimSpace(c.String("ssh-gateway-identity")),
				ForwardAgent:  c.Bool("forward-agent"),
				HostKeyVerify: c.Bool("host-key-verify") && !c.Bool("no-host-key-verify"),
				ExitOnError:   c.Bool("exit-on-error"), Concurrency: c.Int("concurrency"),
				DuplicatedFQDNs: strings.TrimSpace(c.String("duplicated-fqdns")),
			})
		},
	}
}

// runSSH is knife ssh's run: pick the hosts, connect to all of them at
// once, run the command, print each output line behind its host, and exit
// with the highest remote exit status. Hosts that cannot be reached are
// warnings, not failures, unless -e.
func runSSH(env *Env, o SSHOptions) error {
	hosts, err := sshTargets(env, o)
	if err != nil {
		return err
	}
	if err := checkDuplicateHosts(env, o.DuplicatedFQDNs, hosts); err != nil {
		return err
	}
	p := &sshPrinter{out: env.IO.Out, errOut: env.IO.ErrOut, buf: map[string][]byte{}}
	for _, h := range hosts {
		p.longest = max(p.longest, utf8.RuneCountInString(h.Prefix))
	}
	r := &sshRunner{o: o, p: p}
	if err := r.setup(); err != nil {
		return err
	}
	defer r.close()
	return r.run(hosts, fixupSudo(o.Command))
}

// sshTargets is the host list: -m's words, or the nodes a fuzzy partial
// search finds, with knife's FATAL lines when none is usable.
func sshTargets(env *Env, o SSHOptions) ([]knife.SSHHost, error) {
	if o.Manual {
		var hosts []knife.SSHHost
		for _, h := range strings.Fields(o.Query) {
			hosts = append(hosts, knife.SSHHost{Host: h, Prefix: h})
		}
		if len(hosts) == 0 {
			return nil, &ExitError{Code: ExitSSH, Stderr: string(knife.Fatal("No nodes returned from search"))}
		}
		return hosts, nil
	}
	// A refused search is an HTTP error as knife ssh reports it (exit
	// 100), not knife search's exit 99.
	rows, err := env.searchPages("node", knife.FuzzyNodeQuery(o.Query), 0, 0, knife.SSHFilter(o.Attribute, o.PrefixAttribute), httpError)
	if err != nil {
		return nil, err
	}
	hosts, stderr, code := knife.SSHHosts(rows)
	if code != 0 {
		return nil, &ExitError{Code: code, Stderr: string(stderr)}
	}
	return hosts, nil
}

// checkDuplicateHosts is --duplicated-fqdns warn|fatal. knife names every
// host in the message, duplicated or not, and so does gnife.
func checkDuplicateHosts(env *Env, mode string, hosts []knife.SSHHost) error {
	if mode != "warn" && mode != "fatal" {
		return nil
	}
	seen := map[string]bool{}
	var uniq []string
	for _, h := range hosts {
		if !seen[h.Host] {
			seen[h.Host] = true
			uniq = append(uniq, h.Host)
		}
	}
	if len(uniq) == len(hosts) {
		return nil
	}
	noun := "node is"
	if len(uniq) > 1 {
		noun = "nodes are"
	}
	msg := "SSH " + noun + " duplicated: " + strings.Join(uniq, ",")
	if mode == "fatal" {
		return &ExitError{Code: ExitSSH, Stderr: string(knife.Fatal(msg))}
	}
	env.IO.ErrOut.Write(knife.Warning(msg))
	return nil
}

// fixupSudo makes sudo's prompt recognisable, as knife does, so a
// password prompt in the output reads the same as under knife.
func fixupSudo(cmd string) string {
	if strings.HasPrefix(cmd, "sudo") {
		return "sudo -p 'knife sudo password: '" + cmd[len("sudo"):]
	}
	return cmd
}

// sshPrinter is knife's print_data: output is cut into lines per prefix
// and each complete line is printed as "PREFIX<pad> line"; a last line
// without a newline is never printed, as under knife.
type sshPrinter struct {
	mu      sync.Mutex
	out     io.Writer
	errOut  io.Writer
	longest int
	buf     map[string][]byte
}

func (p *sshPrinter) data(prefix string, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	buf := append(p.buf[prefix], b...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		pad := p.longest - utf8.RuneCountInString(prefix) + 1
		line := make([]byte, 0, len(prefix)+pad+i+1)
		line = append(line, prefix...)
		line = append(line, bytes.Repeat([]byte{' '}, pad)...)
		line = append(line, buf[:i]...)
		p.out.Write(append(line, '\n'))
		buf = buf[i+1:]
	}
	p.buf[prefix] = append([]byte(nil), buf...)
}

func (p *sshPrinter) warn(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errOut.Write(b)
}

// sshRunner holds what every connection shares: auth, host key checks,
// the agent and the gateway.
type sshRunner struct {
	o    SSHOptions
	p    *sshPrinter
	user string
	auth []ssh.AuthMethod
	// hostKeys checks host keys as net-ssh does; nil: --no-host-key-verify.
	hostKeys *hostKeyVerifier
	agent    agent.ExtendedAgent
	agentFD  net.Conn
	gateway  *ssh.Client
}

type sshConn struct {
	h      knife.SSHHost
	port   int
	client *ssh.Client
	err    error
}

// run connects and runs on every host, at most -C at a time. With -e all
// hosts are connected first and the first failure ends the run before any
// command starts, as knife's raised exception does.
func (r *sshRunner) run(hosts []knife.SSHHost, cmd string) error {
	conns := make([]*sshConn, len(hosts))
	for i, h := range hosts {
		conns[i] = &sshConn{h: h}
	}
	limit := r.o.Concurrency
	if limit <= 0 {
		limit = len(hosts)
	}
	sem := make(chan struct{}, limit)
	each := func(f func(*sshConn)) {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				f(c)
			}()
		}
		wg.Wait()
	}
	var mu sync.Mutex
	status := 0
	exec := func(c *sshConn) {
		code, err := r.exec(c.client, c.h.Prefix, cmd)
		c.client.Close()
		if err != nil {
			class, msg := rubySSHError(err, c.h.Host, c.port, r.user)
			r.p.warn(knife.SSHConnectFailed(c.h.Host, class, msg))
			return
		}
		mu.Lock()
		status = max(status, code)
		mu.Unlock()
	}
	if r.o.ExitOnError {
		each(r.connect)
		for _, c := range conns {
			if c.err != nil {
				for _, o := range conns {
					if o.client != nil {
						o.client.Close()
					}
				}
				return sshFatal(rubySSHError(c.err, c.h.Host, c.port, r.user))
			}
		}
		each(exec)
	} else {
		each(func(c *sshConn) {
			if r.connect(c); c.err != nil {
				class, msg := rubySSHError(c.err, c.h.Host, c.port, r.user)
				r.p.warn(knife.SSHConnectFailed(c.h.Host, class, msg))
				return
			}
			exec(c)
		})
	}
	if status != 0 {
		return &ExitError{Code: status}
	}
	return nil
}

// exec runs cmd without a pty. knife keeps the remote stderr to itself,
// so only stdout is printed.
func (r *sshRunner) exec(c *ssh.Client, prefix, cmd string) (int, error) {
	s, err := c.NewSession()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if r.o.ForwardAgent && r.agent != nil {
		if err := agent.ForwardToAgent(c, r.agent); err == nil {
			agent.RequestAgentForwarding(s)
		}
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return 0, err
	}
	s.Stderr = io.Discard
	if err := s.Start(cmd); err != nil {
		return 0, err
	}
	buf := make([]byte, 32*1024)
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			r.p.data(prefix, buf[:n])
		}
		if err != nil {
			break
		}
	}
	var ee *ssh.ExitError
	if err := s.Wait(); errors.As(err, &ee) {
		return ee.ExitStatus(), nil
	}
	// A command killed by a signal sends no exit-status: knife counts 0.
	return 0, nil
}
