package gnife

import (
	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/knife"
)

// StatusOptions are `gnife status [QUERY]`'s options.
type StatusOptions struct {
	Query       string
	Environment string
	HideByMins  string
	Display     knife.StatusOptions
}

func statusCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "when each node last ran Chef",
		ArgsUsage: "[QUERY]",
		// knife status takes -s for --sort-reverse, over the common -s.
		Flags: append(commonFlagsExcept("s"),
			&cli.StringFlag{Name: "environment", Aliases: []string{"E"}},
			&cli.StringFlag{Name: "format", Aliases: []string{"F"}},
			&cli.BoolFlag{Name: "run-list", Aliases: []string{"r"}},
			&cli.BoolFlag{Name: "long", Aliases: []string{"l"}},
			&cli.BoolFlag{Name: "sort-reverse", Aliases: []string{"s"}},
			&cli.StringFlag{Name: "hide-by-mins"},
			&cli.BoolFlag{Name: "medium", Aliases: []string{"m"}},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return helpExit("status", 0)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			return runStatus(env, StatusOptions{
				Query: c.Args().First(), Environment: c.String("environment"), HideByMins: c.String("hide-by-mins"),
				Display: knife.StatusOptions{Format: c.String("format"), RunList: c.Bool("run-list"), Long: c.Bool("long"), SortReverse: c.Bool("sort-reverse")},
			})
		},
	}
}

func runStatus(env *Env, o StatusOptions) error {
	now := env.Now().Unix()
	rows, err := env.searchPages("node", knife.StatusQuery(o.Query, o.Environment, o.HideByMins, now), 0, 1000,
		knife.StatusFilter(o.Display.Long), searchFailed)
	if err != nil {
		return err
	}
	out, err := knife.Status(o.Display, rows, now)
	if err != nil {
		return err
	}
	env.IO.Out.Write(out)
	return nil
}

func tagCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "tag",
		Usage: "knife tag list",
		Subcommands: []*cli.Command{{
			Name:      "list",
			Usage:     "list a node's tags",
			ArgsUsage: "NODE",
			Flags:     append(commonFlags(), ignoredEnvironment(), &cli.StringFlag{Name: "format", Aliases: []string{"F"}}),
			Action: func(c *cli.Context) error {
				if c.Bool("help") {
					return helpExit("tag list", 0)
				}
				if err := env.setup(c); err != nil {
					return err
				}
				if c.NArg() == 0 {
					return usageExit("tag list")
				}
				node, err := env.getObject("nodes", "", c.Args().First())
				if err != nil {
					return err
				}
				out, err := knife.TagList(node, c.String("format"))
				if err != nil {
					return err
				}
				env.IO.Out.Write(out)
				return nil
			},
		}},
	}
}
