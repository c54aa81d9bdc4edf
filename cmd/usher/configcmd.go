package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"usher/mail"
	"usher/seal"
	"usher/web"
)

// configCmd shows and checks the configuration serve would run with. Its
// commands take serve's flags, so that the command line counts as it
// would for serve.
func (m *Main) configCmd(cfg *config, sc *serveConfig, serve *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show or check the configuration usher serve would run with"}
	var sources bool
	printCmd := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration as a configuration file, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := m.effective(cmd, sources)
			if err != nil {
				return err
			}
			_, err = m.Stdout.Write(out)
			return err
		},
	}
	printCmd.Flags().BoolVar(&sources, "sources", false, "say after each setting where its value came from: flag, env, file or default")
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration file, the USHER_* variables and the flags as usher serve would, without serving",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sc.finish()
			if err := m.checkServe(cfg, sc); err != nil {
				return err
			}
			_, err := fmt.Fprintln(m.Stdout, "the configuration is valid")
			return err
		},
	}
	for _, c := range []*cobra.Command{printCmd, check} {
		c.Flags().AddFlagSet(serve.Flags())
		cmd.AddCommand(c)
	}
	return cmd
}

// effective renders the settings of cmd as YAML, each secret redacted,
// with its source as a comment when asked.
func (m *Main) effective(cmd *cobra.Command, sources bool) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range settingNames(cmd.Root()) {
		f := cmd.Flags().Lookup(name)
		if f == nil || name == "config" {
			continue
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: name}
		value := settingNode(f)
		if sources {
			src := m.sources[name]
			if src == "" {
				src = sourceDefault
			}
			value.LineComment = src
		}
		doc.Content = append(doc.Content, key, value)
	}
	return yaml.Marshal(doc)
}

// settingNode is a flag's value as YAML, a secret redacted.
func settingNode(f *pflag.Flag) *yaml.Node {
	hide := secretSettings[f.Name]
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, item := range sv.GetSlice() {
			if hide != nil {
				item = hide(item)
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: item})
		}
		return n
	}
	v := f.Value.String()
	if hide != nil {
		v = hide(v)
	}
	tag := "!!str"
	switch f.Value.Type() {
	case "bool":
		tag = "!!bool"
	case "int", "int64", "uint8", "uint32", "uint64":
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}

// checkServe checks what serve checks before it opens anything: each value
// parses and the combinations can work. It does not reach the database,
// the mail server or the network.
func (m *Main) checkServe(cfg *config, sc *serveConfig) error {
	if _, err := m.logger(cfg.logLevel); err != nil {
		return err
	}
	if _, err := parseDatabase(cfg.database); err != nil {
		return err
	}
	if u := sc.policy.PublicURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("--public-url: %q is not an http:// or https:// URL", u)
		}
	}
	if _, err := web.ParseProxies(sc.trustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if err := checkHashing(sc); err != nil {
		return err
	}
	if sc.oidc.Issuer != "" {
		if err := checkOIDCName(sc.oidc.Name); err != nil {
			return err
		}
	}
	if _, err := web.NewCORS(sc.allowedOrigins); err != nil {
		return fmt.Errorf("--allowed-origins: %w", err)
	}
	if sc.smtpURL != "" {
		if _, err := mail.NewSMTP(sc.smtpURL, sc.mailFrom); err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
	}
	for flag, dir := range map[string]string{"--theme": sc.themeDir, "--scripts": sc.scriptsDir} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: %s is not a directory", flag, dir)
		}
	}
	if _, _, err := sc.tls.config(cfg.database, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	if v := m.Getenv("USHER_SECRET_KEY"); v != "" {
		if _, err := seal.ParseKey(v); err != nil {
			return fmt.Errorf("USHER_SECRET_KEY: %w", err)
		}
	} else if cfg.secretKeyFile != "" {
		data, err := os.ReadFile(cfg.secretKeyFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--secret-key-file: %w", err)
		}
		if _, perr := seal.ParseKey(string(data)); err == nil && perr != nil {
			return fmt.Errorf("--secret-key-file %s: %w", cfg.secretKeyFile, perr)
		}
	}
	return nil
}
