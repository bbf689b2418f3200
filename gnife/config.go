package gnife

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// fileConfig is ~/.config/gnife/config.yaml (or $GNIFE_CONFIG).
type fileConfig struct {
	ServerURL string `yaml:"server_url"`
	Token     string `yaml:"token"`
	Stack     string `yaml:"stack"`
	Partial   string `yaml:"partial"`
	// CAFile is the PEM file of the authorities an https server_url is
	// trusted by (SHEARCH_CACERT overrides it).
	CAFile string `yaml:"ca_file"`
}

// ConfigPath is where gnife's config file is looked for.
func ConfigPath() string {
	if p := os.Getenv("GNIFE_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "gnife", "config.yaml")
}

// LoadConfig builds the client config: the config file first, then
// SHEARCH_URL and SHEARCH_TOKEN over it (flags come later, per command).
func LoadConfig() (*api.Config, error) {
	cfg := api.DefaultConfig()
	fc, err := readFileConfig(ConfigPath())
	if err != nil {
		return nil, err
	}
	if fc.ServerURL != "" && os.Getenv("SHEARCH_URL") == "" {
		// server_url, like SHEARCH_URL, may list several replicas.
		cfg.Addresses = api.SplitAddresses(fc.ServerURL)
	}
	if fc.Token != "" && os.Getenv("SHEARCH_TOKEN") == "" {
		cfg.Token = fc.Token
	}
	if fc.CAFile != "" && os.Getenv("SHEARCH_CACERT") == "" {
		cfg.CAFile = fc.CAFile
	}
	defaults = fc
	return cfg, nil
}

// exposedToken warns when the config file holds a token that users
// other than its owner may read: whoever reads it may query (or write
// to) the fleet as its owner.
func exposedToken(path string) string {
	if path == "" || defaults.Token == "" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o044 == 0 {
		return ""
	}
	return fmt.Sprintf("WARNING: gnife config %s holds a token and other users may read it (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
}

// defaults holds the config file's stack and partial settings.
var defaults fileConfig

func readFileConfig(path string) (fileConfig, error) {
	var fc fileConfig
	if path == "" {
		return fc, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && os.Getenv("GNIFE_CONFIG") == "" {
		return fc, nil
	}
	if err != nil {
		return fc, fmt.Errorf("gnife config: %v", errors.Unwrap(err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && err.Error() != "EOF" {
		return fc, fmt.Errorf("gnife config %s: %s (keys: server_url, token, stack, partial, ca_file)", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return fc, nil
}

// commonFlags are on every command, as knife's are: where Shearch is,
// and gnife's additions --stack and --partial.
func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server-url", Aliases: []string{"s"}, Usage: serverURLUsage},
		&cli.StringFlag{Name: "stack", Usage: stackUsage},
		&cli.StringFlag{Name: "partial", Usage: partialUsage},
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "ignored: gnife reads $GNIFE_CONFIG"},
		&cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "Show this help message."},
		// knife's other common options, accepted so knife command lines run
		// unchanged, and ignored: Shearch holds the Chef credentials, gnife
		// never edits, prompts or colours, and logs nothing more with -V.
		// Local mode (-z, --chef-zero-*, --listen) is refused as an invalid
		// option: there is no local repository behind Shearch.
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"V"}, Hidden: true},
		&cli.BoolFlag{Name: "color", Hidden: true},
		&cli.BoolFlag{Name: "no-color", Hidden: true},
		&cli.StringFlag{Name: "config-option", Hidden: true},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Hidden: true},
		&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Hidden: true},
		&cli.StringFlag{Name: "profile", Hidden: true},
		&cli.StringFlag{Name: "editor", Aliases: []string{"e"}, Hidden: true},
		&cli.BoolFlag{Name: "disable-editing", Aliases: []string{"d"}, Hidden: true},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Hidden: true},
		&cli.BoolFlag{Name: "defaults", Hidden: true},
		&cli.BoolFlag{Name: "print-after", Hidden: true},
		&cli.BoolFlag{Name: "fips", Hidden: true},
		&cli.BoolFlag{Name: "no-fips", Hidden: true},
	}
}

// ignoredEnvironment is knife's common -E ENVIRONMENT on the commands that
// have no use for it (knife sets Chef::Config[:environment] and ignores it).
func ignoredEnvironment() cli.Flag {
	return &cli.StringFlag{Name: "environment", Aliases: []string{"E"}, Hidden: true}
}

// commonFlagsExcept drops short aliases a command uses for its own options.
func commonFlagsExcept(alias string) []cli.Flag {
	flags := commonFlags()
	drop := func(aliases []string) []string {
		var keep []string
		for _, a := range aliases {
			if a != alias {
				keep = append(keep, a)
			}
		}
		return keep
	}
	for _, f := range flags {
		switch x := f.(type) {
		case *cli.StringFlag:
			x.Aliases = drop(x.Aliases)
		case *cli.BoolFlag:
			x.Aliases = drop(x.Aliases)
		}
	}
	return flags
}

// The descriptions of gnife's own flags, shown both by `gnife --help`
// (where they come before the command) and in each command's listing.
const (
	serverURLUsage = "Shearch URL (default $SHEARCH_URL, then server_url in the config file, then http://127.0.0.1:4000)"
	stackUsage     = "the stack to search: prod, dev or all (default: stack in the config file, then Shearch's default_stack)"
	partialUsage   = "allow: answer from the shards that answered; deny: fail when a shard fails (default: partial in the config file, then allow)"
)

// globalFlags may also come before the command: gnife --stack dev search ...
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server-url", Aliases: []string{"s"}, Usage: serverURLUsage},
		&cli.StringFlag{Name: "stack", Usage: stackUsage},
		&cli.StringFlag{Name: "partial", Usage: partialUsage},
	}
}

func applyGlobalFlags(c *cli.Context, env *Env) {
	if u := c.String("server-url"); u != "" {
		env.clientConfig.Addresses = api.SplitAddresses(u)
	}
	env.globalStack, env.globalPartial = c.String("stack"), c.String("partial")
}

// setup applies a command's common flags to env, and rejects a -F value
// knife would reject, as knife does.
func (e *Env) setup(c *cli.Context) error {
	if f := c.String("format"); c.IsSet("format") && !knifeFormats[f] {
		out := knife.InvalidFormat(commandPath(c), f)
		return &ExitError{Code: out.Exit, Stdout: string(out.Stdout), Stderr: string(out.Stderr)}
	}
	if u := c.String("server-url"); u != "" {
		e.clientConfig.Addresses = api.SplitAddresses(u)
	}
	// The client is built (again) for the command's own settings.
	e.Client = nil
	e.Stack = firstNonEmpty(c.String("stack"), e.globalStack, defaults.Stack)
	switch p := firstNonEmpty(c.String("partial"), e.globalPartial, defaults.Partial); p {
	case "", "allow":
		e.Deny = false
	case "deny":
		e.Deny = true
	default:
		return exitf(ExitUsage, "ERROR: --partial %s: use allow or deny", p)
	}
	return nil
}

// knifeFormats are the -F values knife's option parser accepts.
var knifeFormats = map[string]bool{"summary": true, "text": true, "json": true, "yaml": true, "pp": true}

// commandPath is the knife name of the running command ("node show").
func commandPath(c *cli.Context) string {
	var parts []string
	for _, l := range c.Lineage() {
		// The root command is the app itself ("gnife"), not part of
		// knife's name for the command.
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			parts = append([]string{l.Command.Name}, parts...)
		}
	}
	return strings.Join(parts, " ")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// withOwnFlags adds a command's own flags to the common ones, dropping the
// common flag a command defines for itself (knife's -y is ignored on read
// commands and means "don't ask" on write commands): urfave/cli panics on
// a flag defined twice.
func withOwnFlags(common []cli.Flag, own ...cli.Flag) []cli.Flag {
	taken := map[string]bool{}
	for _, f := range own {
		for _, n := range f.Names() {
			taken[n] = true
		}
	}
	out := make([]cli.Flag, 0, len(common)+len(own))
	for _, f := range common {
		clash := false
		for _, n := range f.Names() {
			clash = clash || taken[n]
		}
		if !clash {
			out = append(out, f)
		}
	}
	return append(out, own...)
}
