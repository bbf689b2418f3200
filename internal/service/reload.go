package service

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"github.com/shearch/shearch/internal/config"
)

// Reload re-reads what changes without a restart: the tokens file, the
// Chef keys folder, and auth.writers from the config file. Each that is
// broken keeps its old set in force; the first error is returned.
func (s *Service) Reload() error {
	err := s.Server.Auth.Reload()
	if s.ConfigFile == "" {
		return err
	}
	cfg, cerr := config.Load(s.ConfigFile)
	if cerr != nil {
		s.Log.Error("config reload failed; keeping the previous auth.writers", "err", cerr)
	} else {
		cerr = s.Server.Auth.SetWriters(cfg.Auth.Writers)
	}
	return errors.Join(err, cerr)
}

// ReloadOn calls Reload each time one of sigs (SIGHUP) arrives, until ctx
// ends. The signals are watched by the time it returns.
func (s *Service) ReloadOn(ctx context.Context, sigs ...os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-ch:
				s.Log.Info("reloading auth.tokens_file, auth.chef_keys_dir and auth.writers", "signal", sig.String())
				s.Reload() // logs its own outcome
			}
		}
	}()
}
