package service

import (
	"context"
	"os"
	"os/signal"
)

// Reload re-reads what changes without a restart: the tokens file and
// the Chef keys folder. On an error the old ones stay in force.
func (s *Service) Reload() error {
	return s.Server.Auth.Reload()
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
				s.Log.Info("reloading auth.tokens_file and auth.chef_keys_dir", "signal", sig.String())
				s.Reload() // logs its own outcome
			}
		}
	}()
}
