package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "usher test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile, pool
}

// TestServeTLS: with --tls-cert and --tls-key serve answers HTTPS with the
// certificate and Strict-Transport-Security, its default public URL is
// https, and plain HTTP gets no answer from the API.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	var logs syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &logs, Getenv: func(string) string { return "" }, Started: func(a string) { addrc <- a }}
	errc := make(chan error, 1)
	go func() {
		errc <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(t.TempDir(), "usher.db"),
			"--tls-cert", certFile, "--tls-key", keyFile})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	res, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "ok") || res.TLS == nil {
		t.Fatalf("GET /healthz over HTTPS: %d %s", res.StatusCode, body)
	}
	// Every answer over HTTPS, a page's too, keeps the browser on HTTPS.
	for _, path := range []string{"/healthz", "/login", "/v1/me"} {
		res, err := client.Get("https://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("GET %s over HTTPS: %d, Strict-Transport-Security %q", path, res.StatusCode, got)
		}
	}
	// A client that does not trust the certificate is refused by its own
	// check, and plain HTTP is not the API.
	if _, err := http.Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a client without the certificate connected")
	}
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("plain HTTP answered 200")
		}
	}
	// A certificate renewed in place is served from the next handshake.
	certA := writeFile(t, "old.pem", mustRead(t, certFile))
	certB, keyB, poolB := selfSigned(t)
	for src, dst := range map[string]string{certB: certFile, keyB: keyFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(dst, later, later); err != nil {
			t.Fatal(err)
		}
	}
	renewed := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolB}}, Timeout: 10 * time.Second}
	if res, err := renewed.Get("https://" + addr + "/healthz"); err != nil {
		t.Fatalf("after the renewal: %v", err)
	} else {
		res.Body.Close()
	}
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}).Get("https://" + addr + "/healthz"); err == nil {
		t.Error("the old certificate is still served after the renewal")
	}
	// usher health asks over HTTPS with serve's certificate.
	runSteps(t, []step{
		{name: "health over HTTPS", args: []string{"health", "--addr", addr, "--tls-cert", certFile}, stdout: "ready"},
		{name: "health with the certificate in the file", args: []string{"health", "--addr", addr, "--config",
			writeFile(t, "usher.yaml", "tls-cert: "+certFile+"\ntls-key: "+keyFile+"\n")}, stdout: "ready"},
		{name: "health with another certificate", args: []string{"health", "--addr", addr, "--tls-cert", certA}, code: 1, stderr: "does not answer"},
		{name: "health over plain HTTP", args: []string{"health", "--addr", addr}, code: 1, stderr: "is not ready"},
	})
	if !strings.Contains(logs.String(), `"public_url":"https://127.0.0.1:`) {
		t.Errorf("the public URL is not https:\n%s", logs.String())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}

// TestACMEConfig: --acme-domain makes an autocert manager that asks only
// for the domains given (its host policy refuses others, before any
// network), answers TLS-ALPN-01 challenges and keeps its state next to the
// database; flags that cannot go together are refused.
func TestACMEConfig(t *testing.T) {
	t.Parallel()
	ts := tlsSettings{acmeDomains: []string{"usher.example.com", "id.example.com"}, acmeEmail: "ops@example.com"}
	conf, mgr, err := ts.config("/var/lib/usher/usher.db", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for host, ok := range map[string]bool{"usher.example.com": true, "id.example.com": true, "evil.example.com": false, "example.com": false, "127.0.0.1": false} {
		if err := mgr.HostPolicy(ctx, host); (err == nil) != ok {
			t.Errorf("host policy for %s: %v", host, err)
		}
	}
	// The manager refuses a certificate for another host before asking
	// the authority.
	if _, err := conf.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example.com"}); err == nil ||
		!strings.Contains(err.Error(), "not configured") {
		t.Errorf("a certificate for another host: %v", err)
	}
	if !slices.Contains(conf.NextProtos, acme.ALPNProto) || conf.MinVersion != tls.VersionTLS12 || mgr.Email != "ops@example.com" {
		t.Errorf("TLS config: protos %v, min %x, email %q", conf.NextProtos, conf.MinVersion, mgr.Email)
	}
	for _, tt := range []struct {
		name     string
		ts       tlsSettings
		database string
		cache    string
		err      string
	}{
		{name: "SQLite", ts: tlsSettings{acmeDomains: []string{"a.example"}}, database: "data/usher.db", cache: "data/usher.db.acme"},
		{name: "sqlite: URI", ts: tlsSettings{acmeDomains: []string{"a.example"}}, database: "sqlite:file:data/u.db?_pragma=x", cache: "data/u.db.acme"},
		{name: "PostgreSQL", ts: tlsSettings{acmeDomains: []string{"a.example"}}, database: "postgres://db/usher", cache: "usher-acme"},
		{name: "given", ts: tlsSettings{acmeDomains: []string{"a.example"}, acmeCache: "/srv/acme"}, database: "usher.db", cache: "/srv/acme"},
		{name: "files and ACME", ts: tlsSettings{cert: "c", key: "k", acmeDomains: []string{"a.example"}}, err: "not both"},
		{name: "a key alone", ts: tlsSettings{key: "k"}, err: "go together"},
		{name: "ACME email alone", ts: tlsSettings{acmeEmail: "a@example.com"}, err: "need --acme-domain"},
		{name: "a wildcard", ts: tlsSettings{acmeDomains: []string{"*.example.com"}}, err: "not a domain name"},
		{name: "an address", ts: tlsSettings{acmeDomains: []string{"192.0.2.1"}}, err: "not a domain name"},
		{name: "missing files", ts: tlsSettings{cert: "/nonexistent/c.pem", key: "/nonexistent/k.pem"}, err: "--tls-cert, --tls-key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.ts.config(tt.database, slog.New(slog.DiscardHandler))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || tt.ts.acmeCacheDir(tt.database) != tt.cache {
				t.Fatalf("cache %q, %v; want %q", tt.ts.acmeCacheDir(tt.database), err, tt.cache)
			}
		})
	}
	// The HTTP-01 listener sends requests to https, and refuses a
	// challenge for a host not given.
	addr, stop, err := serveACMEHTTP(ctx, mgr, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		host, path string
		status     int
		location   string
	}{
		{"usher.example.com", "/v1/me?x=1", http.StatusFound, "https://usher.example.com/v1/me?x=1"},
		{"evil.example.com", "/.well-known/acme-challenge/token", http.StatusForbidden, ""},
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
		req.Host = tt.host
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Location") != tt.location {
			t.Errorf("GET %s%s: %d %q", tt.host, tt.path, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// mustRead returns a file's text.
func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCertFilesBroken: certificate files replaced by broken ones leave the
// certificate read before in use, are read once and logged once as a
// warning with the reason, however many handshakes follow, and are read
// again when they change again.
func TestCertFilesBroken(t *testing.T) {
	t.Parallel()
	certFile, keyFile, _ := selfSigned(t)
	var logs syncBuffer
	c := &certFiles{cert: certFile, key: keyFile, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	first, err := c.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	touch := func(path, text string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	touch(certFile, "not a certificate", time.Now().Add(time.Minute))
	for range 100 {
		if got, err := c.get(nil); err != nil || got != first {
			t.Fatalf("with broken files: %v, %v; want the certificate read before", got, err)
		}
	}
	if c.reads != 2 {
		t.Errorf("the files were read %d times, want 2 (at start, once broken)", c.reads)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], "PEM") ||
		!strings.Contains(lines[0], certFile) {
		t.Fatalf("want one warning naming the file and the reason, got:\n%s", logs.String())
	}

	// Changed again, still broken: read and logged once more.
	touch(certFile, "still not a certificate", time.Now().Add(2*time.Minute))
	for range 10 {
		if got, _ := c.get(nil); got != first {
			t.Fatal("the certificate read before is not served")
		}
	}
	if n := strings.Count(logs.String(), "\n"); c.reads != 3 || n != 2 {
		t.Errorf("after a second broken change: %d reads, %d log lines; want 3 and 2", c.reads, n)
	}

	// A good pair written in place is served from the next handshake.
	certB, keyB, _ := selfSigned(t)
	touch(certFile, mustRead(t, certB), time.Now().Add(3*time.Minute))
	touch(keyFile, mustRead(t, keyB), time.Now().Add(3*time.Minute))
	got, err := c.get(nil)
	if err != nil || got == first {
		t.Fatalf("after a good renewal: %v, %v; want the new certificate", got, err)
	}
	if got2, _ := c.get(nil); got2 != got || c.reads != 4 {
		t.Errorf("the new certificate is read again: %d reads", c.reads)
	}
}
