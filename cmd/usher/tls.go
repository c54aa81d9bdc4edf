package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"usher/store/sqlite"
)

// tlsSettings is how serve serves HTTPS itself, for operators without a
// reverse proxy: from certificate files, or with certificates an ACME
// authority (Let's Encrypt by default) issues and renews.
type tlsSettings struct {
	cert, key     string
	acmeDomains   []string
	acmeEmail     string
	acmeCache     string
	acmeHTTP      string
	acmeDirectory string
}

// addFlags gives serve the TLS flags.
func (t *tlsSettings) addFlags(f *pflag.FlagSet) {
	f.StringVar(&t.cert, "tls-cert", "", "PEM certificate file (with its chain): serve HTTPS with it and --tls-key")
	f.StringVar(&t.key, "tls-key", "", "PEM private key file of --tls-cert")
	f.StringSliceVar(&t.acmeDomains, "acme-domain", nil, "serve HTTPS for these domains with certificates from ACME (Let's Encrypt), "+
		"obtained and renewed on their own; --addr must be reachable on port 443")
	f.StringVar(&t.acmeEmail, "acme-email", "", "contact address given to the ACME authority, for notices about the certificates")
	f.StringVar(&t.acmeCache, "acme-cache", "", "directory keeping the ACME account key and certificates "+
		"(default: the directory DATABASE.acme next to a SQLite file, ./usher-acme for PostgreSQL)")
	f.StringVar(&t.acmeHTTP, "acme-http-addr", "", "also listen here (e.g. :80) for ACME HTTP-01 challenges, redirecting other requests to https; "+
		"default: none (TLS-ALPN-01 on --addr only)")
	f.StringVar(&t.acmeDirectory, "acme-directory", "", "ACME directory URL (default: Let's Encrypt's production directory)")
}

// check reports a combination of TLS flags that cannot work.
func (t *tlsSettings) check() error {
	acmeOnly := t.acmeEmail != "" || t.acmeCache != "" || t.acmeHTTP != "" || t.acmeDirectory != ""
	switch {
	case (t.cert == "") != (t.key == ""):
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	case t.cert != "" && len(t.acmeDomains) > 0:
		return errors.New("give either --tls-cert and --tls-key or --acme-domain, not both")
	case len(t.acmeDomains) == 0 && acmeOnly:
		return errors.New("--acme-email, --acme-cache, --acme-http-addr and --acme-directory need --acme-domain")
	}
	for _, d := range t.acmeDomains {
		if d == "" || strings.ContainsAny(d, "*/: ") || net.ParseIP(d) != nil {
			return fmt.Errorf("--acme-domain: %q is not a domain name (no wildcards, addresses or ports)", d)
		}
	}
	return nil
}

// acmeCacheDir is where the ACME state is kept: --acme-cache, or a
// directory next to a SQLite database, or ./usher-acme.
func (t *tlsSettings) acmeCacheDir(database string) string {
	if t.acmeCache != "" {
		return t.acmeCache
	}
	if db := strings.TrimPrefix(database, "sqlite:"); !strings.Contains(db, "://") {
		return sqlite.File(db) + ".acme"
	}
	return "usher-acme"
}

// config returns the TLS configuration serve listens with, nil for plain
// HTTP, and the ACME manager when certificates come from ACME; log takes
// the certificate files' failed reloads.
func (t *tlsSettings) config(database string, log *slog.Logger) (*tls.Config, *autocert.Manager, error) {
	if err := t.check(); err != nil {
		return nil, nil, err
	}
	switch {
	case t.cert != "":
		files := &certFiles{cert: t.cert, key: t.key, log: log}
		if _, err := files.get(nil); err != nil {
			return nil, nil, err
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: files.get}, nil, nil
	case len(t.acmeDomains) > 0:
		mgr := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(t.acmeDomains...),
			Cache:      autocert.DirCache(t.acmeCacheDir(database)),
			Email:      t.acmeEmail,
		}
		if t.acmeDirectory != "" {
			mgr.Client = &acme.Client{DirectoryURL: t.acmeDirectory}
		}
		conf := mgr.TLSConfig()
		conf.MinVersion = tls.VersionTLS12
		return conf, mgr, nil
	}
	return nil, nil, nil
}

// certFiles is a certificate and key read from files, read again when
// either file changes: a certificate renewed in place (certbot) is served
// from the next handshake on, without a restart.
type certFiles struct {
	cert, key string
	log       *slog.Logger

	mu     sync.Mutex
	pair   *tls.Certificate
	stamp  string // the files' sizes and modification times when read
	failed string // those of files that could not be used, not read again until they change
	reads  int    // how many times the files were read
}

// get returns the certificate, reading the files first if they changed. A
// file that cannot be read or a pair that does not match leaves the
// certificate read before in use, is logged once, and is read again only
// once the files change again.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	stamp := ""
	for _, path := range []string{c.cert, c.key} {
		if st, err := os.Stat(path); err == nil {
			stamp += fmt.Sprintf("%d/%d;", st.Size(), st.ModTime().UnixNano())
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pair != nil && (stamp == c.stamp || stamp == c.failed) {
		return c.pair, nil
	}
	c.reads++
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		if c.pair == nil {
			return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
		}
		// Half-written or wrong files: keep the pair that works.
		c.failed = stamp
		c.log.Warn("the TLS certificate files changed but cannot be used; serving the certificate read before until they change again",
			"cert", c.cert, "key", c.key, "err", err)
		return c.pair, nil
	}
	c.pair, c.stamp, c.failed = &pair, stamp, ""
	return c.pair, nil
}

// client returns the HTTP client and scheme that reach a serve with these
// settings from the same machine: over HTTPS, verifying the certificate
// file's own name, or the first ACME domain's certificate as any client
// would.
func (t *tlsSettings) client() (*http.Client, string, error) {
	switch {
	case t.cert != "":
		data, err := os.ReadFile(t.cert)
		if err != nil {
			return nil, "", fmt.Errorf("--tls-cert: %w", err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, "", fmt.Errorf("--tls-cert: %s holds no PEM certificate", t.cert)
		}
		leaf, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("--tls-cert: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(data)
		name := leaf.Subject.CommonName
		if len(leaf.DNSNames) > 0 {
			name = leaf.DNSNames[0]
		} else if len(leaf.IPAddresses) > 0 {
			name = leaf.IPAddresses[0].String()
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: name}}}, "https", nil
	case len(t.acmeDomains) > 0:
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: t.acmeDomains[0]}}}, "https", nil
	}
	return http.DefaultClient, "http", nil
}

// serveACMEHTTP answers ACME HTTP-01 challenges on addr, and redirects
// every other request to https, until stop is called. It returns the
// address it listens on.
func serveACMEHTTP(ctx context.Context, mgr *autocert.Manager, addr string, log *slog.Logger) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--acme-http-addr: %w", err)
	}
	srv := newHTTPServer(mgr.HTTPHandler(nil), log)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.ErrorContext(ctx, "ACME HTTP listener stopped", "addr", addr, "err", err)
		}
	}()
	return ln.Addr().String(), func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
