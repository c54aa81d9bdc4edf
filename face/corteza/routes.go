package corteza

import (
	"context"

	"usher"
	"usher/web"
)

// routes lists every operation of Corteza's system API, with its trailing
// slash as Corteza writes it ({$}: the path ends there, as Corteza's
// router matches it). Go's router takes only whole-segment
// wildcards, so a preview (preview.{ext}) and a bundle
// ({bundle}-{type}.{ext}) are one {file} segment each, parsed by their
// handler.
func (h *Handler) routes() []route {
	a := func(method, path string, fn web.Handler) route { return route{method, prefix + path, fn, false} }
	pub := func(method, path string, fn web.Handler) route { return route{method, prefix + path, fn, true} }
	return []route{
		a("GET", "/actionlog/{$}", h.actionLog),

		a("GET", "/application/{$}", h.listApplications),
		a("POST", "/application/{$}", h.createApplication),
		a("PUT", "/application/{applicationID}", h.updateApplication),
		a("GET", "/application/{applicationID}", h.readApplication),
		a("DELETE", "/application/{applicationID}", h.appAction(func(ctx context.Context, id int64) (*usher.AllowedApplication, error) { return h.Apps.Delete(ctx, id) })),
		a("POST", "/application/{applicationID}/undelete", h.appAction(func(ctx context.Context, id int64) (*usher.AllowedApplication, error) {
			return h.Apps.Undelete(ctx, id)
		})),
		a("POST", "/application/{applicationID}/trigger", h.trigger("application", "applicationID")),

		pub("GET", "/attachment/{kind}/{attachmentID}", h.readAttachment),
		pub("DELETE", "/attachment/{kind}/{attachmentID}", h.deleteAttachment),
		pub("GET", "/attachment/{kind}/{attachmentID}/original/{name}", h.attachmentOriginal),
		pub("GET", "/attachment/{kind}/{attachmentID}/{file}", h.attachmentPreview),

		pub("GET", "/auth/{$}", h.authSettings),
		pub("GET", "/auth/check", h.authCheck),
		pub("POST", "/auth/exchange", h.authExchange),
		pub("POST", "/auth/impersonate", h.authImpersonate),
		pub("GET", "/auth/logout", h.authLogout),
		pub("POST", "/auth/internal/login", h.internalLogin),
		pub("POST", "/auth/internal/signup", h.internalSignup),
		pub("POST", "/auth/internal/request-password-reset", h.internalRequestReset),
		pub("POST", "/auth/internal/exchange-password-reset-token", h.internalExchangeReset),
		pub("POST", "/auth/internal/reset-password", h.internalResetPassword),
		pub("POST", "/auth/internal/confirm-email", h.internalConfirmEmail),
		pub("POST", "/auth/internal/change-password", h.internalChangePassword),

		a("GET", "/automation/{$}", h.listAutomation),
		a("GET", "/automation/{file}", h.automationBundle),
		a("POST", "/automation/trigger", h.automationTrigger),

		a("GET", "/organisations/{$}", h.listOrganisations),
		a("POST", "/organisations/{$}", h.createOrganisation),
		a("PUT", "/organisations/{id}", h.updateOrganisation),
		a("DELETE", "/organisations/{id}", h.orgFlag(false)),
		a("POST", "/organisations/{id}/archive", h.orgFlag(true)),
		a("GET", "/organisations/{id}", h.readOrganisation),

		a("GET", "/permissions/{$}", h.listPermissions),
		a("GET", "/permissions/effective", h.effectivePermissions),
		a("GET", "/permissions/{roleID}/rules", h.readRules),
		a("DELETE", "/permissions/{roleID}/rules", h.deleteRules),
		a("PATCH", "/permissions/{roleID}/rules", h.updateRules),

		a("GET", "/reminder/{$}", h.listReminders),
		a("POST", "/reminder/{$}", h.createReminder),
		a("PUT", "/reminder/{reminderID}", h.updateReminder),
		a("GET", "/reminder/{reminderID}", h.readReminder),
		a("DELETE", "/reminder/{reminderID}", h.deleteReminder),
		a("PATCH", "/reminder/{reminderID}/dismiss", h.dismissReminder),
		a("PATCH", "/reminder/{reminderID}/snooze", h.snoozeReminder),

		a("GET", "/roles/{$}", h.listRoles),
		a("POST", "/roles/{$}", h.createRole),
		a("PUT", "/roles/{roleID}", h.updateRole),
		a("GET", "/roles/{roleID}", h.readRole),
		a("DELETE", "/roles/{roleID}", h.roleAction(h.deleteRole)),
		a("POST", "/roles/{roleID}/archive", h.roleAction(h.archiveRole)),
		a("POST", "/roles/{roleID}/unarchive", h.roleAction(h.unarchiveRole)),
		a("POST", "/roles/{roleID}/undelete", h.roleAction(h.undeleteRole)),
		a("POST", "/roles/{roleID}/move", h.moveRole),
		a("POST", "/roles/{roleID}/merge", h.mergeRole),
		a("GET", "/roles/{roleID}/members", h.roleMemberList),
		a("POST", "/roles/{roleID}/member/{userID}", h.membership(true)),
		a("DELETE", "/roles/{roleID}/member/{userID}", h.membership(false)),
		a("POST", "/roles/{roleID}/trigger", h.trigger("role", "roleID")),

		a("GET", "/settings/{$}", h.listSettings),
		a("PATCH", "/settings/{$}", h.updateSettings),
		a("GET", "/settings/{key}", h.getSetting),
		a("POST", "/settings/{key}", h.setSetting),
		a("GET", "/settings/current", h.currentSettings),

		a("GET", "/stats/{$}", h.stats),
		a("GET", "/subscription/{$}", h.subscription),

		a("GET", "/users/{$}", h.listUsers),
		a("POST", "/users/{$}", h.createUser),
		a("PUT", "/users/{userID}", h.updateUser),
		a("GET", "/users/{userID}", h.readUser),
		a("DELETE", "/users/{userID}", h.userAction(func(ctx context.Context, k usher.UserKey) (*usher.User, error) { return h.Users.Delete(ctx, k) })),
		a("POST", "/users/{userID}/suspend", h.userAction(func(ctx context.Context, k usher.UserKey) (*usher.User, error) { return h.Users.Suspend(ctx, k) })),
		a("POST", "/users/{userID}/unsuspend", h.userAction(func(ctx context.Context, k usher.UserKey) (*usher.User, error) { return h.Users.Unsuspend(ctx, k) })),
		a("POST", "/users/{userID}/undelete", h.userAction(func(ctx context.Context, k usher.UserKey) (*usher.User, error) { return h.Users.Undelete(ctx, k) })),
		a("POST", "/users/{userID}/password", h.setUserPassword),
		a("GET", "/users/{userID}/membership", h.userMembershipList),
		a("POST", "/users/{userID}/membership/{roleID}", h.membership(true)),
		a("DELETE", "/users/{userID}/membership/{roleID}", h.membership(false)),
		a("POST", "/users/{userID}/trigger", h.trigger("user", "userID")),
	}
}
