// Command shearch serves federated Chef search over every shard.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/config"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/service"
)

var version = "dev"

func main() {
	app := &cli.App{
		Name:    "shearch",
		Usage:   "federated Chef search over every shard of a fleet",
		Version: version,
		Commands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "serve the API for the shards in a config file",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "config", Required: true, Usage: "YAML config file"},
					&cli.StringFlag{Name: "listen", Usage: "address to listen on (overrides the config's listen)"},
				},
				Action: serve,
			},
			{
				Name:  "dev",
				Usage: "start goiardi shards, consul and a Route53 stand-in with a fleet, and serve",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Value: "127.0.0.1:4000"},
					&cli.IntFlag{Name: "shards", Value: 3},
					&cli.IntFlag{Name: "nodes", Value: 300},
					&cli.StringFlag{Name: "fixture", Usage: "load Chef JSON from this directory instead of a synthetic fleet"},
					&cli.StringFlag{Name: "tokens-file", Usage: "bearer tokens (\"TOKEN\" reads, \"TOKEN write\" also writes); without it anyone reads and no one writes"},
				},
				Action: dev,
			},
		},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "shearch: %v\n", err)
		var ce *service.ConfigError
		if errors.As(err, &ce) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func serve(c *cli.Context) error {
	cfg, err := config.Load(c.String("config"))
	if err != nil {
		return &service.ConfigError{Err: err}
	}
	if l := c.String("listen"); l != "" {
		cfg.Listen = l
	}
	svc, err := service.New(cfg, nil)
	if err != nil {
		return err
	}
	svc.ConfigFile = c.String("config")
	ctx, stop := signalContext()
	defer stop()
	svc.ReloadOn(ctx, syscall.SIGHUP)
	return svc.Serve(ctx, cfg.Listen, nil)
}

func dev(c *cli.Context) error {
	// The Route53 stand-in checks no signature, but the SDK wants
	// credentials to sign with and must not wait on EC2's metadata service.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "shearch-dev", "AWS_SECRET_ACCESS_KEY": "shearch-dev", "AWS_EC2_METADATA_DISABLED": "true"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	ctx, stop := signalContext()
	defer stop()
	d, err := devfleet.StartDev(ctx, devfleet.DevOptions{Shards: c.Int("shards"), Nodes: c.Int("nodes"),
		FixtureDir: c.String("fixture"), Log: os.Stderr})
	if err != nil {
		return err
	}
	defer d.Stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d.Config.Auth.TokensFile = c.String("tokens-file")
	svc, err := service.New(d.Config, log)
	if err != nil {
		return err
	}
	return svc.Serve(ctx, c.String("listen"), func(addr string) {
		fmt.Fprint(os.Stderr, devfleet.Banner(d, addr))
	})
}
