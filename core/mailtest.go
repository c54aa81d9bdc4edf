package core

import (
	"context"
	"strconv"
	"time"

	"usher"
)

// mailTestTimeout bounds one test mail's delivery: connecting, starting
// TLS, logging in and sending.
const mailTestTimeout = 30 * time.Second

// mailChecker is a transport that can check its server before sending;
// its error then names the step that failed (mail.SMTP is one).
type mailChecker interface {
	Check(ctx context.Context) error
}

// Test sends one mail to the address to through the transport at once,
// not through the outbox, and reports what happened: the transport's
// error is the outcome, not an error of the call. It is what `usher mail
// test` does, for the console: administrators only, each test audited
// (mail.test, with the outcome) and counted like a reset request, per
// administrator.
//
// Errors: Unauthenticated, Forbidden (not an administrator, a token
// without the api scope, an impersonation), Invalid (not
// an address), RateLimited.
func (o *Outbox) Test(ctx context.Context, to string) (*usher.MailTest, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actInstanceManage, nil); err != nil {
		return nil, err
	}
	if !p.IsAdmin() || p.Impersonator != nil {
		return nil, errForbidden("test mail is for administrators, acting as themselves")
	}
	if !validEmail(to) {
		return nil, invalid("to", "is not an e-mail address")
	}
	if o.transport == nil {
		return nil, &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeNotAllowed, Message: "this server has no mail transport"}
	}
	if _, err := o.reserve(ctx, []limit{{key: "mailtest:" + strconv.FormatInt(p.UserID(), 10), max: o.policy.MaxFailuresPerKey}}); err != nil {
		return nil, err
	}
	out := &usher.MailTest{To: to}
	sctx, cancel := context.WithTimeout(ctx, mailTestTimeout)
	defer cancel()
	var err error
	if c, ok := o.transport.(mailChecker); ok {
		err = c.Check(sctx)
	}
	if err == nil {
		err = o.transport.Send(sctx, &usher.Mail{Kind: "test", To: to, Subject: "usher: test mail",
			Body:      "This mail was sent from usher's console to check the mail settings. Nothing needs to be done.\n",
			CreatedAt: o.now()})
	}
	meta := map[string]string{"outcome": usher.MailSent}
	if err != nil {
		out.Error = err.Error()
		meta = map[string]string{"outcome": usher.MailFailed, "error": truncate(out.Error, 500)}
	} else {
		out.Sent = true
	}
	o.observe.Mail("test", meta["outcome"])
	if err := o.recordAlone(ctx, event{action: "mail.test", resourceType: "mail", resourceID: to, meta: meta}); err != nil {
		return nil, err
	}
	return out, nil
}
