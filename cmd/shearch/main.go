// Command shearch serves federated Chef search over every shard.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
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
					&cli.IntFlag{Name: "replicas", Value: 1, Usage: "run this many Shearch replicas, registered in consul, with HAProxy in front on --listen"},
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
	if n := c.Int("replicas"); n > 1 {
		return devReplicas(ctx, d, n, c.String("listen"), log)
	}
	svc, err := service.New(d.Config, log)
	if err != nil {
		return err
	}
	return svc.Serve(ctx, c.String("listen"), func(addr string) {
		fmt.Fprint(os.Stderr, devfleet.Banner(d, addr))
	})
}

// devReplicas serves n replicas of the dev fleet's Shearch on free ports,
// each registered in the dev consul agent and sharing the shard bounds,
// with HAProxy (deploy/haproxy.cfg) in front of them on listen.
func devReplicas(ctx context.Context, d *devfleet.Dev, n int, listen string, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var addrs []string
	errc := make(chan error, n)
	for i := range n {
		port, err := devfleet.FreePort("127.0.0.1")
		if err != nil {
			return err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cfg := *d.Config
		cfg.Listen = addr
		cfg.CacheFile = filepath.Join(d.Dir, "topology-"+strconv.Itoa(i+1)+".json")
		cfg.Replica = config.Replica{Advertise: addr, Service: "shearch", CheckInterval: config.Duration{Duration: time.Second}}
		svc, err := service.New(&cfg, log.With("replica", addr))
		if err != nil {
			return err
		}
		ready := make(chan struct{})
		go func() { errc <- svc.Serve(ctx, addr, func(string) { close(ready) }) }()
		select {
		case <-ready:
		case err := <-errc:
			return err
		}
		addrs = append(addrs, addr)
	}
	h, err := devfleet.StartHAProxyOn(listen, addrs)
	if err != nil {
		return err
	}
	defer h.Stop()
	banner := devfleet.Banner(d, listen)
	banner = strings.Replace(banner, "shearch dev is serving on http://"+listen+"\n",
		fmt.Sprintf("shearch dev is serving %d replicas behind HAProxy on %s\n  replicas    http://%s\n", n, h.URL, strings.Join(addrs, ", http://")), 1)
	fmt.Fprint(os.Stderr, banner)
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}
