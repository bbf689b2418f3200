package gnife

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// passwordPromptFlag stands for a -P given without a value.
const passwordPromptFlag = "ssh-password-prompt"

// sshPassword is -P's password: asked for, without echo, when -P came
// without a value, as knife's configure_password does ("Enter your
// password: " on stdout); taken from the command line otherwise, with a
// warning that knife does not give: every user of the machine can read
// a command line (ps, /proc) and the shell's history keeps it.
func sshPassword(c *cli.Context, env *Env) (string, error) {
	if c.Bool(passwordPromptFlag) {
		return promptPassword(env, "Enter your password: ")
	}
	pw := strings.TrimSpace(c.String("ssh-password"))
	if pw != "" {
		fmt.Fprintln(env.IO.ErrOut, "WARNING: -P PASSWORD puts the password on the command line, where other users and the shell history can read it: give -P without a value to be asked for it")
	}
	return pw, nil
}

// promptPassword reads one line: without echo from a terminal, as
// HighLine's ask(echo: false) does, else as it comes (a pipe).
func promptPassword(env *Env, prompt string) (string, error) {
	io.WriteString(env.IO.Out, prompt)
	if f, ok := env.IO.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		io.WriteString(env.IO.Out, "\n")
		if err != nil {
			return "", exitf(ExitUsage, "ERROR: reading the password: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if env.IO.In == nil {
		return "", exitf(ExitUsage, "ERROR: -P without a value asks for the password, but there is no standard input")
	}
	line, err := bufio.NewReader(env.IO.In).ReadString('\n')
	io.WriteString(env.IO.Out, "\n")
	if err != nil && line == "" {
		return "", exitf(ExitUsage, "ERROR: -P without a value asks for the password, but standard input has none: type it, or pipe it in")
	}
	return strings.TrimSpace(line), nil
}
