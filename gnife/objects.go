package gnife

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// noun describes one of knife's object nouns: where its objects live on
// the Chef API and how knife loads them for display.
type noun struct {
	name       string // node, role, environment, client
	collection string // nodes, roles, ...
	kind       knife.Kind
}

var nouns = []noun{
	{"node", "nodes", knife.KindNode},
	{"role", "roles", knife.KindRole},
	{"environment", "environments", knife.KindEnvironment},
	{"client", "clients", knife.KindClientV1},
}

// ShowOptions are the options of a `NOUN show NAME`.
type ShowOptions struct {
	Noun    noun
	Name    string
	Display knife.ShowOptions
}

// ListOptions are the options of a `NOUN list`.
type ListOptions struct {
	// List fetches the names and URLs.
	List    func(ctx context.Context, cl *api.Client) (map[string]string, error)
	WithURI bool
	Format  string
}

// nounCommands builds the noun called name, or every noun when name is "".
func nounCommands(env *Env, name string) []*cli.Command {
	var out []*cli.Command
	for _, n := range nouns {
		if name != "" && name != n.name {
			continue
		}
		subs := []*cli.Command{listCommand(env, n), showCommand(env, n)}
		if n.name == "environment" {
			subs = append(subs, environmentCompareCommand(env))
		}
		out = append(out, &cli.Command{
			Name:        n.name,
			Usage:       "knife " + n.name + " " + names(subs),
			Subcommands: subs,
		})
	}
	return out
}

func listCommand(env *Env, n noun) *cli.Command {
	flags := append(commonFlags(),
		&cli.BoolFlag{Name: "with-uri", Aliases: []string{"w"}},
		&cli.StringFlag{Name: "format", Aliases: []string{"F"}},
	)
	if n.name == "node" {
		flags = append(flags, &cli.StringFlag{Name: "environment", Aliases: []string{"E"}})
	} else {
		flags = append(flags, &cli.StringFlag{Name: "environment", Aliases: []string{"E"}, Hidden: true})
	}
	return &cli.Command{
		Name:  "list",
		Usage: "list every " + n.name + " over all shards",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return helpExit(n.name+" list", 0)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			o := ListOptions{WithURI: c.Bool("with-uri"), Format: c.String("format"),
				List: func(ctx context.Context, cl *api.Client) (map[string]string, error) {
					return listNames(ctx, cl, "/"+n.collection)
				}}
			if e := c.String("environment"); e != "" && n.name == "node" {
				o.List = func(ctx context.Context, cl *api.Client) (map[string]string, error) {
					return cl.EnvironmentNodes(ctx, e)
				}
			}
			return runList(env, o)
		},
	}
}

func runList(env *Env, o ListOptions) error {
	cl, err := env.client()
	if err != nil {
		return err
	}
	items, err := o.List(env.ctx(), cl)
	if err = env.warnPartial(err); err != nil {
		return httpError(err)
	}
	out, err := knife.List(items, o.WithURI, o.Format)
	if err != nil {
		return err
	}
	env.IO.Out.Write(out)
	return nil
}

func showCommand(env *Env, n noun) *cli.Command {
	flags := append(commonFlags(),
		&cli.StringFlag{Name: "format", Aliases: []string{"F"}},
		&cli.StringSliceFlag{Name: "attribute", Aliases: []string{"a"}},
	)
	if n.name == "node" {
		flags = append(flags,
			&cli.StringFlag{Name: "field-separator", Aliases: []string{"S"}},
			&cli.BoolFlag{Name: "long", Aliases: []string{"l"}},
			&cli.BoolFlag{Name: "medium", Aliases: []string{"m"}},
			&cli.BoolFlag{Name: "run-list", Aliases: []string{"r"}},
			&cli.BoolFlag{Name: "environment", Aliases: []string{"E"}},
		)
	} else {
		flags = append(flags, &cli.StringFlag{Name: "environment", Aliases: []string{"E"}, Hidden: true})
	}
	return &cli.Command{
		Name:      "show",
		Usage:     "show one " + n.name,
		ArgsUsage: "NAME",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			cmd := n.name + " show"
			if c.Bool("help") {
				return helpExit(cmd, 0)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			if c.NArg() == 0 {
				return usageExit(cmd)
			}
			o := ShowOptions{Noun: n, Name: c.Args().First(), Display: knife.ShowOptions{
				Format: c.String("format"), Attributes: c.StringSlice("attribute"),
			}}
			if n.name == "node" {
				o.Display.FieldSeparator = c.String("field-separator")
				o.Display.Long, o.Display.Medium = c.Bool("long"), c.Bool("medium")
				o.Display.RunList, o.Display.Environment = c.Bool("run-list"), c.Bool("environment")
			}
			return runShow(env, o)
		},
	}
}

func runShow(env *Env, o ShowOptions) error {
	obj, err := env.getObject(o.Noun.collection, "", o.Name)
	if err != nil {
		return err
	}
	out, err := knife.Show(o.Noun.kind, obj, o.Display)
	if err != nil {
		return err
	}
	env.IO.Out.Write(out)
	return nil
}

// httpError prints a Shearch HTTP error as knife prints a Chef server's:
// "ERROR: The object you are looking for could not be found" and
// "Response: ..." for a 404, exit 100.
func httpError(err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return err
	}
	body, _ := json.Marshal(map[string]any{"error": ae.Messages})
	return &ExitError{Code: ExitNotFound, Stderr: string(knife.HTTPError(ae.StatusCode, httpReason(ae.StatusCode), body, "", "", ""))}
}

func httpReason(status int) string {
	switch status {
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	}
	return "HTTP " + strconv.Itoa(status)
}

// usageExit is what knife prints when a required name is missing.
func usageExit(cmd string) error {
	out, ok := knife.Usage(cmd)
	if !ok {
		return exitf(ExitUsage, "ERROR: missing argument")
	}
	return &ExitError{Code: out.Exit, Stdout: string(out.Stdout), Stderr: string(out.Stderr)}
}

// names joins the subcommands' names as a usage line does: list|show.
func names(cmds []*cli.Command) string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.Name
	}
	return strings.Join(out, "|")
}
