package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"usher"
	"usher/mail"
)

// mailCheckTimeout bounds serve's check of the mail server at start.
const mailCheckTimeout = 30 * time.Second

func (m *Main) mailCmd(cfg *config) *cobra.Command {
	mailCmd := &cobra.Command{Use: "mail", Short: "Check the mail settings"}
	var smtpURL, from string
	test := &cobra.Command{
		Use:   "test ADDRESS",
		Short: "Send one mail to ADDRESS through the SMTP server of --smtp-url and report what happened",
		Long: "Send one mail to ADDRESS through the SMTP server of --smtp-url (USHER_SMTP_URL), as serve would:\n" +
			"connect, start TLS as the URL's tls parameter says, log in, send. The outcome names the step that\n" +
			"failed and how to choose ?tls= when the conversation, not the connection, failed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if smtpURL == "" {
				return errors.New("no SMTP server is configured, so mail goes to the log; set --smtp-url or USHER_SMTP_URL")
			}
			tr, err := mail.NewSMTP(smtpURL, from)
			if err != nil {
				return fmt.Errorf("--smtp-url: %w", err)
			}
			ctx := cmd.Context()
			if err := tr.Check(ctx); err != nil {
				return err
			}
			msg := &usher.Mail{Kind: "test", To: args[0], Subject: "usher: test mail",
				Body: "This mail was sent by usher mail test to check the mail settings. Nothing needs to be done.\n"}
			if err := tr.Send(ctx, msg); err != nil {
				return err
			}
			_, err = fmt.Fprintf(m.Stdout, "sent to %s via %s: the server accepted it\n", args[0], tr)
			return err
		},
	}
	test.Flags().StringVar(&smtpURL, "smtp-url", "", "SMTP server, smtp://user:pass@host:587?tls=starttls|tls|none or smtps://… (env USHER_SMTP_URL)")
	test.Flags().StringVar(&from, "mail-from", "usher@localhost", "sender address of mail (env USHER_MAIL_FROM)")
	mailCmd.AddCommand(test)
	return mailCmd
}

// checkMail checks at start that the SMTP server takes usher's
// connection, and logs clearly what failed and how to fix it; mail waits
// in the outbox meanwhile, so serve goes on.
func checkMail(ctx context.Context, tr *mail.SMTP, log *slog.Logger) {
	cctx, cancel := context.WithTimeout(ctx, mailCheckTimeout)
	defer cancel()
	if err := tr.Check(cctx); err != nil {
		if ctx.Err() != nil {
			return // serve stopped first
		}
		log.Error("mail: the SMTP server cannot be used: mail waits in the outbox until it can; usher mail test ADDRESS tries it",
			"smtp", tr.String(), "error", err)
		return
	}
	log.Info("mail: the SMTP server takes usher's connection", "smtp", tr.String())
}
