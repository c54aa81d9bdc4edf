package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// scriptRunLease is how long a claimed "after" run is left to its runner
// before another may take it over: longer than a run may last.
const scriptRunLease = 2 * time.Minute

// The outcomes of a run.
const (
	outcomeOK      = "ok"
	outcomeRefused = "refused"
	outcomeFailed  = "failed"
	outcomeSkipped = "skipped" // the script was disabled or broken after the run was queued
)

// outcomeOf is the outcome of a run that ended with err, and the line it
// adds to the run's log.
func outcomeOf(err error) (string, string) {
	var ue *usher.Error
	switch {
	case err == nil:
		return outcomeOK, ""
	case errors.As(err, &ue) && ue.Code == usher.CodeScriptRefused:
		return outcomeRefused, "refused: " + ue.Message
	case errors.As(err, &ue):
		return outcomeFailed, "failed: " + ue.Message
	}
	return outcomeFailed, "failed"
}

// subjectOf finds the resource a manual run names: "user:42", "role:7",
// "group:7", "application:3", or "" for the system. A role must be a
// group of kind role.
//
// Errors: Unprocessable (a malformed reference, or no such resource).
func (s *Scripts) subjectOf(ctx context.Context, ref string) (usher.Trigger, *subject, error) {
	if ref == "" || ref == "system" {
		return usher.TriggerSystemManual, &subject{kind: "system", fields: map[string]any{}}, nil
	}
	unknown := usher.FieldErrors(usher.FieldError{Field: "resource", Code: usher.CodeUnknown, Message: "no such resource: " + ref})
	kind, idText, _ := strings.Cut(ref, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return "", nil, usher.FieldErrors(usher.FieldError{Field: "resource", Code: usher.CodeInvalid,
			Message: "is user:ID, role:ID, group:ID, application:ID, or empty for the system"})
	}
	var subj *subject
	switch kind {
	case "user":
		u, err := s.store.UserGet(ctx, usher.UserKey{ID: id})
		if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
			return "", nil, unknown
		}
		if err != nil {
			return "", nil, err
		}
		subj = userSubject(u)
	case "role", "group":
		gr, err := s.store.GroupGet(ctx, id, "", "")
		if errors.Is(err, usher.ErrNotFound) || (err == nil && (gr.DeletedAt != nil || (kind == "role" && gr.Kind != usher.GroupRole))) {
			return "", nil, unknown
		}
		if err != nil {
			return "", nil, err
		}
		subj = s.groupSubject(gr)
	case "application":
		a, err := s.store.AppGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && a.DeletedAt != nil) {
			return "", nil, unknown
		}
		if err != nil {
			return "", nil, err
		}
		subj = appSubject(a)
	default:
		return "", nil, unknown
	}
	return usher.Trigger(kind + ".manual"), readOnly(subj), nil
}

// Run runs a server script on request on a resource ("user:42", "role:7",
// "application:3"; "" for the system), which the script must have a manual
// trigger for. The script sees the resource but changes nothing of it; the
// mails it queues are sent unless it fails or refuses. The answer is the
// run: its outcome and log.
//
// Errors: Unauthenticated, Forbidden, NotFound (the script),
// Unprocessable (the script is invalid, disabled or a client script; a
// malformed or unknown resource; a resource the script has no manual
// trigger for).
func (s *Scripts) Run(ctx context.Context, name, ref string) (*usher.ScriptRun, error) {
	if err := authorizeScripts(usher.PrincipalFrom(ctx), true); err != nil {
		return nil, err
	}
	if noSuchKey(name, maxScriptName) {
		return nil, errScriptNotFound()
	}
	sc, err := s.store.ScriptGet(ctx, name)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errScriptNotFound()
	}
	if err != nil {
		return nil, err
	}
	if sc.Kind != usher.ScriptServer || !sc.Enabled || sc.Invalid() {
		return nil, &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptInvalid,
			Message: "only an enabled server script that compiles runs"}
	}
	t, subj, err := s.subjectOf(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !sc.Has(t) {
		return nil, usher.FieldErrors(usher.FieldError{Field: "resource", Code: usher.CodeNotAllowed,
			Message: "script " + sc.Name + " has no trigger " + string(t)})
	}
	prog, err := s.scripts.program(sc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	run := &usher.ScriptRun{ScriptID: sc.ID, Script: sc.Name, Trigger: t, Resource: subj.ref(),
		ActorID: usher.PrincipalFrom(ctx).UserID(), CreatedAt: now}
	run.Subject, _ = json.Marshal(subj.fields)
	res, runErr := s.runScript(ctx, prog, scriptCall{name: sc.Name, trigger: t, resource: subj.ref(), subject: subj.fields})
	outcome, line := outcomeOf(runErr)
	if res != nil {
		run.Log = res.log
	}
	if line != "" {
		run.Log = append(run.Log, line)
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if res != nil {
			if err := s.applyRun(ctx, tx, sc.Name, res); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, now, event{action: "script.run", resourceType: "script",
			resourceID: strconv.FormatInt(sc.ID, 10), meta: map[string]string{"name": sc.Name,
				"trigger": string(t), "resource": run.Resource, "outcome": outcome}})
	})
	if err != nil {
		return nil, err
	}
	if res != nil && len(res.mails) > 0 {
		s.mailQueued()
	}
	done := s.now()
	run.Outcome, run.DoneAt = outcome, &done
	return run, nil
}

// RunDue runs the queued "after" runs, at most limit of them, and returns
// how many it ran. Each is claimed for a while in the database, so that
// concurrent runners — other replicas — take different ones; the script
// runs outside any transaction, and what it asked for (its mails) is
// applied in the transaction that marks the run done, only if the claim
// still holds: a run's effects happen once, even when a runner stops
// between the two. A run that fails is done, not retried.
//
// Errors: only the store's.
func (s *Scripts) RunDue(ctx context.Context, limit int) (int, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	claim := hex.EncodeToString(b[:])
	now := s.now()
	runs, err := s.store.ScriptRunClaim(ctx, now, now.Add(scriptRunLease), claim, limit)
	if err != nil {
		return 0, err
	}
	mailed := false
	for _, run := range runs {
		outcome, log, res := s.runQueued(ctx, run)
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			at := s.now()
			if err := tx.ScriptRunDone(ctx, run.ID, claim, at, outcome, log); err != nil {
				return err
			}
			if res != nil {
				if err := s.applyRun(ctx, tx, run.Script, res); err != nil {
					return err
				}
			}
			meta := map[string]string{"name": run.Script, "trigger": string(run.Trigger), "resource": run.Resource, "outcome": outcome}
			if run.ActorID != 0 {
				// The run is the system's; whose change queued it is the
				// reader's to know.
				meta["queued_by"] = strconv.FormatInt(run.ActorID, 10)
			}
			return s.record(ctx, tx, at, event{action: "script.run", resourceType: "script",
				resourceID: strconv.FormatInt(run.ScriptID, 10), meta: meta})
		})
		if errors.Is(err, usher.ErrNotFound) {
			continue // the claim was taken over
		}
		if err != nil {
			return len(runs), err
		}
		mailed = mailed || (res != nil && len(res.mails) > 0)
	}
	if mailed {
		s.mailQueued()
	}
	return len(runs), nil
}

// runQueued runs a queued run with the script as it now is, under a
// deadline of the run's time limit, so that no run holds up RunDue for
// longer, whatever it runs into: its outcome, its log and, when it succeeded, what it asked for.
// A run of a script that no longer has the run's trigger is skipped.
func (s *Scripts) runQueued(ctx context.Context, run *usher.ScriptRun) (string, []string, *scriptResult) {
	sc, err := s.store.ScriptGet(ctx, run.Script)
	if err != nil || sc.Kind != usher.ScriptServer || !sc.Enabled || sc.Invalid() {
		return outcomeSkipped, []string{"the script is gone, disabled or does not compile"}, nil
	}
	if !sc.Has(run.Trigger) {
		return outcomeSkipped, []string{"the script no longer has trigger " + string(run.Trigger)}, nil
	}
	prog, err := s.scripts.program(sc)
	if err != nil {
		return outcomeSkipped, []string{"the script does not compile"}, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(run.Subject, &fields); err != nil {
		return outcomeFailed, []string{"its subject is not a JSON object"}, nil
	}
	sys, cancel := context.WithTimeout(usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem}), s.scriptTimeout())
	defer cancel()
	res, err := s.runScript(sys, prog, scriptCall{name: sc.Name, trigger: run.Trigger, resource: run.Resource, subject: fields})
	outcome, line := outcomeOf(err)
	if err != nil {
		return outcome, []string{line}, nil
	}
	return outcome, res.log, res
}
