package usher

// The error codes: the Code of an Error and of a FieldError. A code is a
// stable snake_case identifier that clients may depend on, so its value never
// changes; a face that answers a code its own way names it by its constant,
// never by a string literal. Every code is listed in Codes.

// Codes any operation may answer.
const (
	CodeInternal         = "internal"          // a fault of usher or its database; the cause is in the log only
	CodeNotFound         = "not_found"         // something unnamed does not exist (or may not be seen)
	CodeConflict         = "conflict"          // the change collides with existing state; of a field, it contradicts another field
	CodeValidationFailed = "validation_failed" // the input breaks validation rules; the fields name each problem
	CodeUnauthenticated  = "unauthenticated"   // the request carries no credential, and the operation needs one
	CodeForbidden        = "forbidden"         // the principal may not do this
	CodeBusy             = "busy"              // too many costly operations (password hashing, image previews) run at once; retry shortly
	CodeVersionMismatch  = "version_mismatch"  // the record is no longer at the version the request named
)

// Codes of a request the HTTP plumbing or a face could not take in.
const (
	CodeBodyTooLarge         = "body_too_large"         // the request body is over its limit
	CodeUnreadableBody       = "unreadable_body"        // the request body could not be read
	CodeUnsupportedMediaType = "unsupported_media_type" // the request body is not of a media type the endpoint reads
	CodeEmptyBody            = "empty_body"             // the request body is empty where a JSON object is expected
	CodeMalformedJSON        = "malformed_json"         // the request body is not valid JSON or not a JSON object
	CodeInvalidJSON          = "invalid_json"           // the request body is JSON, but not the object the endpoint wants
	CodeMalformedForm        = "malformed_form"         // the form posted could not be read
	CodeUnknownField         = "unknown_field"          // the body has a field the request does not know
	CodeWrongType            = "wrong_type"             // a field of the body holds a value of the wrong JSON type
	CodeRepeatedParameter    = "repeated_parameter"     // a query parameter is given more than once
	CodeUnknownParameter     = "unknown_parameter"      // a query parameter the endpoint does not know
	CodeInvalidParameter     = "invalid_parameter"      // a parameter has a value the operation does not accept
	CodeNotAnInteger         = "not_an_integer"         // a parameter is not an integer
	CodeNotABoolean          = "not_a_boolean"          // a parameter is not true or false
	CodeNotATime             = "not_a_time"             // a parameter is not an RFC 3339 time
	CodeOutOfRange           = "out_of_range"           // a number or a duration is outside its bounds
	CodeInvalidValue         = "invalid_value"          // a value is not one of those allowed
	CodeInvalidID            = "invalid_id"             // a path segment or parameter is not a valid id
	CodeIDRequired           = "id_required"            // the operation takes a numeric id, not a name
	CodeInvalidCursor        = "invalid_cursor"         // a page cursor was not given out by this list
	CodeCursorSortMismatch   = "cursor_sort_mismatch"   // a page cursor was given out for another sort order
	CodeInvalidRange         = "invalid_range"          // a time range ends before it starts
	CodeRouteNotFound        = "route_not_found"        // no endpoint has the path
	CodeMethodNotAllowed     = "method_not_allowed"     // the endpoint does not answer the method
	CodeCrossOrigin          = "cross_origin"           // a browser's request that another site made, refused
)

// Codes of one field's problem, in FieldError.Code. Several are the code of
// the whole error too, when a request has one field at fault.
const (
	CodeRequired          = "required"           // the field is missing or empty
	CodeInvalid           = "invalid"            // the field's value breaks its format or rule
	CodeTaken             = "taken"              // another record holds the value already
	CodeTooLong           = "too_long"           // the value is longer than its limit
	CodeTooShort          = "too_short"          // the value is shorter than its minimum
	CodeTooMany           = "too_many"           // the field lists more items than its limit
	CodeTooLarge          = "too_large"          // the value (an RSA key's size) is over its limit
	CodeNegative          = "negative"           // a number that must not be negative is
	CodeDuplicate         = "duplicate"          // the field names an item twice
	CodeDuplicateProvider = "duplicate_provider" // the identities name a provider twice
	CodeInPast            = "in_past"            // a time that must be in the future is not
	CodeUnknown           = "unknown"            // the field names something that does not exist, e.g. a plan
	CodeNotAllowed        = "not_allowed"        // the value is well formed but not allowed here, e.g. a redirect address
	CodeNotAdmin          = "not_admin"          // the user the field names is not an administrator, and must be
	CodeRename            = "rename"             // the field would rename something whose name does not change
	CodeWrong             = "wrong"              // the value does not match what is stored, e.g. the current password
	CodeInvalidUTF8       = "invalid_utf8"       // the text is not valid UTF-8
	CodeControlCharacter  = "control_character"  // the text holds a control character
	CodeFormatCharacter   = "format_character"   // the text holds an invisible formatting character
	CodeNotNormalized     = "not_normalized"     // the text has a compatibility character; write it as it normally is
	CodeInvalidScheme     = "invalid_scheme"     // an address is not http or https
	CodeInvalidKey        = "invalid_key"        // a key of a map (metadata, settings) breaks its rule
	CodeTooCommon         = "too_common"         // the password is one of the most common
	CodeSameAsUsername    = "same_as_username"   // the password is the username
	CodeSameAsEmail       = "same_as_email"      // the password is the e-mail address
	CodeTooWeak           = "too_weak"           // the password is too easy to guess
	CodeInvalidAccess     = "invalid_access"     // a permission rule's access is neither allow nor deny
	CodeUnknownOperation  = "unknown_operation"  // a permission rule names an operation permissions do not know
	CodeInvalidResource   = "invalid_resource"   // a permission rule's resource is not a type, type:id or *
	CodeUnsupportedType   = "unsupported_type"   // an SSH key is of a type not accepted
	CodeInvalidComment    = "invalid_comment"    // an SSH key's comment is not short, printable text
	CodeWeakKey           = "weak_key"           // an SSH key has too few bits
	CodeNotAnImage        = "not_an_image"       // the upload is not an image of a format accepted
	CodeBadSize           = "bad_size"           // the image's dimensions are outside those accepted
)

// Codes of credentials and logging in.
const (
	CodeInvalidCredentials = "invalid_credentials"         // the login or the password is wrong
	CodeMissingCredentials = "missing_credentials"         // a log-in without a login or a password
	CodeInvalidToken       = "invalid_token"               // the token is not valid, or has expired
	CodeAccountInactive    = "account_inactive"            // the account is blocked, suspended or deleted; its credentials do not work
	CodeEmailNotConfirmed  = "email_not_confirmed"         // the account may not log in before its address is confirmed
	CodeTooManyAttempts    = "too_many_attempts"           // too many failed log-ins; retry later
	CodeNotASession        = "not_a_session"               // the credential is not a session, and only a session may do this
	CodeNotAnImpersonation = "not_an_impersonation"        // the credential is no impersonation's JWT, and only one may end an impersonation
	CodeSessionNotFound    = "session_not_found"           // the session does not exist (or is another's)
	CodeWrongPassword      = "wrong_password"              // the current password given with a change is wrong
	CodeKeyOwnerNotAdmin   = "key_owner_not_admin"         // an application key whose owner is no longer an administrator
	CodeTokenNotFound      = "token_not_found"             // the token does not exist (or is another's)
	CodeScopeExceeded      = "scope_exceeds_credential"    // a credential asked for a token with a scope it lacks, or unscoped while it is scoped
	CodeLifetimeExceeded   = "lifetime_exceeds_credential" // a credential asked for a token that would outlive it
	CodeTokenLimit         = "token_limit_reached"         // the account holds as many live tokens as it may
	CodeLimitReached       = "limit_reached"               // the account holds as many files, reminders or SSH keys as it may
)

// Codes of signing up and of one-time codes: each kind of code that is
// unknown, used or expired has its own (the three are not told apart).
const (
	CodeSignupDisabled      = "signup_disabled"        // sign-up is off
	CodeDomainNotAllowed    = "domain_not_allowed"     // sign-up is open to addresses of other domains only
	CodeMissingCode         = "missing_code"           // a confirmation without its code
	CodeConfirmNotFound     = "confirm_not_found"      // the confirmation code is unknown, used or expired
	CodeResetNotFound       = "reset_not_found"        // the password-reset token is unknown, used or expired
	CodeResetTicketNotFound = "reset_ticket_not_found" // the reset ticket is unknown, used or expired
	CodeRedeemNotFound      = "redeem_not_found"       // the command line's redeem token is unknown, used or expired
	CodeDeviceNotFound      = "device_not_found"       // the user code typed for a device log-in is unknown, used or expired
	CodeDeviceNotApproved   = "device_not_approved"    // a device log-in's approval lacks the nonce of the page that showed the person the client
	CodeOAuthStateNotFound  = "oauth_state_not_found"  // the state of an OAuth log-in is unknown, used or expired
	CodeExchangeNotFound    = "exchange_not_found"     // an external log-in's exchange code is unknown, used, expired or not this client's
)

// Codes of logging in through another provider (OAuth, OIDC).
const (
	CodeProviderNotFound    = "provider_not_found"     // no log-in provider has the name
	CodeProviderDisabled    = "provider_disabled"      // an instance setting turned log-in through the provider off
	CodeOAuthBinding        = "oauth_binding"          // the log-in was started in another browser
	CodeOAuthFailed         = "oauth_failed"           // the provider did not confirm the log-in
	CodeOAuthDenied         = "oauth_denied"           // the provider answered with an error
	CodeEmailUnconfirmed    = "email_unconfirmed"      // an account has the provider's address but has not confirmed it
	CodeAccountHasPassword  = "account_has_password"   // an account has the provider's address and a password: it is not linked by address
	CodeAccountHasIdentity  = "account_has_identity"   // an account has the provider's address, proved after another external log-in made it: it is not linked by address
	CodeRedeemPending       = "redeem_pending"         // the command line's log-in is not completed yet
	CodeNotExternal         = "not_external"           // the account has no identity of the provider named
	CodeServiceAccountLogIn = "service_account_log_in" // a service account authenticates only with its tokens: it opens no session
)

// Codes of users.
const (
	CodeUserNotFound           = "user_not_found"            // the user does not exist (or may not be seen)
	CodeUsernameTaken          = "username_taken"            // another user has the username (or no free one was found)
	CodeEmailTaken             = "email_taken"               // another account has the address, or it is the user's primary one
	CodeExternalIDTaken        = "external_id_taken"         // another user has the external id
	CodeExternUIDTaken         = "extern_uid_taken"          // the identity is linked to another account
	CodeUserNotDeleted         = "user_not_deleted"          // the operation is for deleted users, and the user is not one
	CodeInvalidState           = "invalid_state"             // the user's state cannot change to the one asked this way
	CodeBlockedExternally      = "blocked_externally"        // an external directory blocked the user; only it unblocks
	CodeLastTeamOwner          = "last_team_owner"           // the user alone owns a team, and deleting the user would leave it without an owner
	CodeLastAdministrator      = "last_administrator"        // the change would leave no administrator who may sign in
	CodeServiceAccountNotFound = "service_account_not_found" // the team has no such service account
)

// Codes of a user's profile: keys, addresses, the avatar.
const (
	CodeSSHKeyNotFound = "ssh_key_not_found" // the SSH key does not exist (or is another's)
	CodeSSHKeyTaken    = "ssh_key_taken"     // an account has the SSH key already
	CodeEmailNotFound  = "email_not_found"   // the e-mail address does not exist (or is another's)
	CodeAvatarNotFound = "avatar_not_found"  // the user has no avatar
	CodeAvatarTooLarge = "avatar_too_large"  // the avatar image is over its limit
)

// Codes of groups, organisations, plans and roles.
const (
	CodeGroupNotFound        = "group_not_found"        // the group does not exist (or may not be seen)
	CodeTeamNotFound         = "team_not_found"         // the team does not exist (or may not be seen)
	CodeGroupAmbiguous       = "group_ambiguous"        // a bare handle that groups of several kinds have; kind:handle says which
	CodeOrganisationNotFound = "organisation_not_found" // the organisation does not exist (or may not be seen)
	CodeHandleTaken          = "handle_taken"           // another group of the kind, organisation or live user has the handle
	CodeGroupNotDeleted      = "group_not_deleted"      // the operation is for deleted groups, and the group is not one
	CodeSameGroup            = "same_group"             // a group cannot be merged into itself
	CodeKindMismatch         = "kind_mismatch"          // the groups to merge are of different kinds
	CodeLastOwner            = "last_owner"             // the change would leave the team without an owner
	CodeMemberNotFound       = "member_not_found"       // the user is not a member of the group
	CodeOrganisationNotEmpty = "organisation_not_empty" // the organisation still holds groups or users
	CodePlanForbidsTeams     = "plan_forbids_teams"     // the user's plan does not allow creating teams
	CodeCannotCreateTeams    = "cannot_create_teams"    // the account may not create teams: GitLab's can_create_group is off, or it is external
	CodeServiceAccountTeams  = "service_account_teams"  // a service account makes no teams: its team's owners do
	CodePlanNotFound         = "plan_not_found"         // no plan has the name
	CodePlanExists           = "plan_exists"            // a plan has the name already
	CodeRoleNotFound         = "role_not_found"         // the role does not exist
)

// Codes of applications.
const (
	CodeApplicationNotFound = "application_not_found" // the application does not exist (or may not be seen)
)

// Codes of reminders.
const (
	CodeReminderNotFound = "reminder_not_found" // the reminder does not exist, is deleted, or may not be seen
)

// Codes of attachments.
const (
	CodeAttachmentNotFound = "attachment_not_found" // the attachment does not exist, or may not be seen
	CodeAttachmentTooLarge = "attachment_too_large" // the uploaded file is over the limit
	CodeTypeNotAllowed     = "type_not_allowed"     // the file's content type, judged from its bytes, is refused for the kind
	CodeUnknownKind        = "unknown_kind"         // the attachment kind is not one usher knows
	CodeNoPreview          = "no_preview"           // the attachment is not an image a preview is made of
)

// Codes of automation scripts.
const (
	CodeScriptNotFound       = "script_not_found"       // the script does not exist
	CodeScriptExists         = "script_exists"          // a script has the name already
	CodeScriptReadOnly       = "script_read_only"       // the script was loaded from the scripts directory and changes only there
	CodeScriptInvalid        = "script_invalid"         // the script does not compile, is disabled or is not a server script, and does not run
	CodeScriptRefused        = "script_refused"         // a script refused the operation; the message is the script's
	CodeScriptFailed         = "script_failed"          // a script failed or was cut off at a limit; the operation was not done
	CodeScriptForbiddenField = "script_forbidden_field" // a script changed a field scripts may not change; the operation was not done
)

// Codes of instance settings.
const (
	CodeSettingNotFound  = "setting_not_found"       // the instance setting is not set
	CodePasswordResetOff = "password_reset_disabled" // password reset is off
	CodePasswordLoginOff = "password_login_disabled" // log-in by password is off (auth.internal.enabled); external log-ins and tokens work
)

// Codes lists every code above, in their order. A face's table of the codes
// it answers its own way names only codes listed here; its tests say so.
var Codes = []string{
	CodeInternal, CodeNotFound, CodeConflict, CodeValidationFailed, CodeUnauthenticated, CodeForbidden,
	CodeBusy, CodeVersionMismatch,

	CodeBodyTooLarge, CodeUnreadableBody, CodeUnsupportedMediaType, CodeEmptyBody, CodeMalformedJSON,
	CodeInvalidJSON, CodeMalformedForm, CodeUnknownField, CodeWrongType, CodeRepeatedParameter,
	CodeUnknownParameter, CodeInvalidParameter, CodeNotAnInteger, CodeNotABoolean, CodeNotATime,
	CodeOutOfRange, CodeInvalidValue, CodeInvalidID, CodeIDRequired, CodeInvalidCursor,
	CodeCursorSortMismatch, CodeInvalidRange, CodeRouteNotFound, CodeMethodNotAllowed, CodeCrossOrigin,

	CodeRequired, CodeInvalid, CodeTaken, CodeTooLong, CodeTooShort, CodeTooMany, CodeTooLarge,
	CodeNegative, CodeDuplicate, CodeDuplicateProvider, CodeInPast, CodeUnknown, CodeNotAllowed,
	CodeNotAdmin, CodeRename, CodeWrong, CodeInvalidUTF8, CodeControlCharacter, CodeFormatCharacter,
	CodeNotNormalized, CodeInvalidScheme, CodeInvalidKey, CodeTooCommon, CodeSameAsUsername,
	CodeSameAsEmail, CodeTooWeak, CodeInvalidAccess, CodeUnknownOperation, CodeInvalidResource,
	CodeUnsupportedType, CodeInvalidComment, CodeWeakKey, CodeNotAnImage, CodeBadSize,

	CodeInvalidCredentials, CodeMissingCredentials, CodeInvalidToken, CodeAccountInactive,
	CodeEmailNotConfirmed, CodeTooManyAttempts, CodeNotASession, CodeNotAnImpersonation, CodeSessionNotFound, CodeWrongPassword,
	CodeKeyOwnerNotAdmin, CodeTokenNotFound, CodeScopeExceeded, CodeLifetimeExceeded, CodeTokenLimit,
	CodeLimitReached,

	CodeSignupDisabled, CodeDomainNotAllowed, CodeMissingCode, CodeConfirmNotFound, CodeResetNotFound,
	CodeResetTicketNotFound, CodeRedeemNotFound, CodeDeviceNotFound, CodeOAuthStateNotFound, CodeExchangeNotFound,
	CodeDeviceNotApproved,

	CodeProviderNotFound, CodeProviderDisabled, CodeOAuthBinding, CodeOAuthFailed, CodeOAuthDenied, CodeEmailUnconfirmed,
	CodeAccountHasPassword, CodeAccountHasIdentity, CodeRedeemPending, CodeNotExternal, CodeServiceAccountLogIn,

	CodeUserNotFound, CodeUsernameTaken, CodeEmailTaken, CodeExternalIDTaken, CodeExternUIDTaken,
	CodeUserNotDeleted, CodeInvalidState, CodeBlockedExternally, CodeLastTeamOwner, CodeLastAdministrator,
	CodeServiceAccountNotFound,

	CodeSSHKeyNotFound, CodeSSHKeyTaken, CodeEmailNotFound, CodeAvatarNotFound, CodeAvatarTooLarge,

	CodeGroupNotFound, CodeGroupAmbiguous, CodeTeamNotFound, CodeOrganisationNotFound, CodeHandleTaken, CodeGroupNotDeleted,
	CodeSameGroup, CodeKindMismatch, CodeLastOwner, CodeMemberNotFound, CodeOrganisationNotEmpty,
	CodePlanForbidsTeams, CodeCannotCreateTeams, CodeServiceAccountTeams, CodePlanNotFound, CodePlanExists, CodeRoleNotFound,

	CodeApplicationNotFound,
	CodeReminderNotFound,
	CodeAttachmentNotFound, CodeAttachmentTooLarge, CodeTypeNotAllowed, CodeUnknownKind, CodeNoPreview,
	CodeScriptNotFound, CodeScriptExists, CodeScriptReadOnly, CodeScriptInvalid, CodeScriptRefused,
	CodeScriptFailed, CodeScriptForbiddenField,

	CodeSettingNotFound, CodePasswordResetOff, CodePasswordLoginOff,
}

// IsCode reports whether code is one of Codes.
func IsCode(code string) bool {
	for _, c := range Codes {
		if c == code {
			return true
		}
	}
	return false
}
