package gnife

import (
	"context"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// `data bag list` and `data bag show BAG [ITEM]`: knife's only two-word noun.
func dataBagCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "data",
		Usage: "knife data bag list|show",
		Subcommands: []*cli.Command{{
			Name: "bag",
			Subcommands: []*cli.Command{
				{
					Name:  "list",
					Usage: "list every data bag over all shards",
					Flags: append(commonFlags(), ignoredEnvironment(), &cli.BoolFlag{Name: "with-uri", Aliases: []string{"w"}}, &cli.StringFlag{Name: "format", Aliases: []string{"F"}}),
					Action: func(c *cli.Context) error {
						if c.Bool("help") {
							return helpExit("data bag list", 0)
						}
						if err := env.setup(c); err != nil {
							return err
						}
						return runList(env, ListOptions{WithURI: c.Bool("with-uri"), Format: c.String("format"),
							List: func(ctx context.Context, cl *api.Client) (map[string]string, error) {
								return cl.DataBags().List(ctx, "")
							}})
					},
				},
				{
					Name:      "show",
					Usage:     "list a data bag's items, or show one item",
					ArgsUsage: "BAG [ITEM]",
					Flags:     append(commonFlags(), ignoredEnvironment(), &cli.StringFlag{Name: "format", Aliases: []string{"F"}}, &cli.StringFlag{Name: "secret"}, &cli.StringFlag{Name: "secret-file"}),
					Action: func(c *cli.Context) error {
						if c.Bool("help") {
							return helpExit("data bag show", 0)
						}
						if err := env.setup(c); err != nil {
							return err
						}
						switch c.NArg() {
						case 0:
							return usageExit("data bag show")
						case 1:
							bag := c.Args().First()
							return runList(env, ListOptions{Format: c.String("format"),
								List: func(ctx context.Context, cl *api.Client) (map[string]string, error) {
									return cl.DataBags().List(ctx, bag)
								}})
						}
						// data_bag_show.rb: the secret is read first, then the
						// item; an encrypted one is decrypted, or shown as
						// stored with a warning when no secret was given.
						hasSecret := c.IsSet("secret") || c.IsSet("secret-file")
						if c.IsSet("secret") && c.IsSet("secret-file") {
							return &ExitError{Code: ExitUsage, Stderr: string(knife.TwoSecretsGiven)}
						}
						secret := c.String("secret")
						if c.IsSet("secret-file") {
							var msg []byte
							if secret, msg = knife.SecretFromFile(c.String("secret-file"), os.ReadFile); msg != nil {
								return &ExitError{Code: ExitNotFound, Stderr: string(msg)}
							}
						}
						obj, err := env.getObject("data", c.Args().Get(0), c.Args().Get(1))
						if err != nil {
							return err
						}
						kind := knife.KindHash
						switch encrypted := knife.DataBagItemEncrypted(obj); {
						case encrypted && hasSecret:
							env.IO.ErrOut.Write(knife.DecryptingInfo)
							if obj, err = knife.DecryptDataBagItem(obj, secret); err != nil {
								return &ExitError{Code: ExitNotFound, Stderr: string(knife.DecryptError(err))}
							}
							kind = knife.KindDecryptedItem
						case encrypted:
							env.IO.ErrOut.Write(knife.EncryptedNoSecret)
						case hasSecret:
							env.IO.ErrOut.Write(knife.UnencryptedSecret)
						}
						out, err := knife.Show(kind, obj, knife.ShowOptions{Format: c.String("format")})
						if err != nil {
							return err
						}
						env.IO.Out.Write(out)
						return nil
					},
				},
			},
		}},
	}
}
