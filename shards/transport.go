package shards

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"
)

// pinnedTransports are the transports of shards whose TLS must chain to
// a given CA file, one per file, read once.
var pinnedTransports sync.Map // CA file -> *http.Transport

// transportFor is the shared transport, or the one pinned to caFile.
func transportFor(caFile string) (*http.Transport, error) {
	if caFile == "" {
		return sharedTransport, nil
	}
	if t, ok := pinnedTransports.Load(caFile); ok {
		return t.(*http.Transport), nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("consul.shard_ca_file: cannot read %s: %v", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("consul.shard_ca_file %s holds no PEM certificate", caFile)
	}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}
	actual, _ := pinnedTransports.LoadOrStore(caFile, t)
	return actual.(*http.Transport), nil
}

// CheckCAFile reads a CA file as a shard client would, for start-up.
func CheckCAFile(caFile string) error {
	_, err := transportFor(caFile)
	return err
}
