package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// healthTimeout bounds usher health's request.
const healthTimeout = 5 * time.Second

func (m *Main) healthCmd() *cobra.Command {
	var addr string
	var ts tlsSettings
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask a running usher whether it is ready (GET /readyz); exit 0 if it is, 1 if not",
		Long: "Ask the usher listening on --addr (USHER_ADDR, as serve reads it) whether it is ready: GET /readyz,\n" +
			"which answers 200 when the database takes writes. For container health checks, with no curl or wget.\n" +
			"With serve's --tls-cert or --acme-domain (the configuration file gives them alike) it asks over HTTPS.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return usagef(cmd, "--addr %q is not host:port", addr)
			}
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
				host = "127.0.0.1"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), healthTimeout)
			defer cancel()
			client, scheme, err := ts.client()
			if err != nil {
				return err
			}
			url := scheme + "://" + net.JoinHostPort(host, port) + "/readyz"
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			res, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("usher at %s does not answer: %w", url, err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("usher at %s is not ready (%s): %s", url, res.Status, strings.TrimSpace(string(body)))
			}
			_, err = fmt.Fprintln(m.Stdout, "ready")
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "the address usher serve listens on")
	cmd.Flags().StringVar(&ts.cert, "tls-cert", "", "usher serve's --tls-cert: ask over HTTPS, trusting this certificate")
	cmd.Flags().StringSliceVar(&ts.acmeDomains, "acme-domain", nil, "usher serve's --acme-domain: ask over HTTPS for the first domain")
	return cmd
}
