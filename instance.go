package usher

import (
	"strings"
	"time"
)

// InstanceSetting is one of the instance's settings: a named JSON value
// that administrators set at run time, as opposed to a user's own
// settings (Setting).
type InstanceSetting struct {
	// Name is dotted, lower-case: "auth.internal.signup.enabled".
	Name string
	// Value is compact JSON text; never JSON null (null deletes).
	Value     []byte
	UpdatedAt time.Time
	// UpdatedBy is the user who set the value last; 0 for usher itself or
	// a purged user.
	UpdatedBy int64
}

// Names of the instance settings that drive behaviour. Any other name
// under a known prefix (InstanceSettingPrefixes) is kept for clients.
const (
	// SettingInternalEnabled false turns off the internal (password)
	// log-in, sign-up and password reset on every face, whatever the two
	// below say; external log-ins and tokens go on working.
	SettingInternalEnabled = "auth.internal.enabled"
	// SettingSignupEnabled turns sign-up on or off on every face.
	SettingSignupEnabled = "auth.internal.signup.enabled"
	// SettingPasswordResetEnabled false refuses password-reset requests.
	SettingPasswordResetEnabled = "auth.internal.password-reset.enabled"
	// SettingExternalEnabled false turns off log-in through every external
	// provider (OAuth, OIDC), whatever each provider's own setting says.
	SettingExternalEnabled = "auth.external.enabled"
)

// SettingProviderEnabled is the name of the setting that turns log-in
// through the configured external provider named provider off (false) or
// back on: auth.external.providers.<provider>.enabled.
func SettingProviderEnabled(provider string) string {
	return settingProviderPrefix + provider + settingProviderSuffix
}

const (
	settingProviderPrefix = "auth.external.providers."
	settingProviderSuffix = ".enabled"
)

// IsBoolSetting reports whether the setting name drives behaviour as a
// boolean, and so takes only true or false.
func IsBoolSetting(name string) bool {
	switch name {
	case SettingInternalEnabled, SettingSignupEnabled, SettingPasswordResetEnabled, SettingExternalEnabled:
		return true
	}
	return strings.HasPrefix(name, settingProviderPrefix) && strings.HasSuffix(name, settingProviderSuffix) &&
		len(name) > len(settingProviderPrefix)+len(settingProviderSuffix)
}

// InstanceSettingPrefixes are the namespaces a setting's name may start
// with.
var InstanceSettingPrefixes = []string{"auth.", "general.", "ui.", "system."}

// InstanceSettingValue is one name and value of a change of many settings;
// a nil Value deletes the setting.
type InstanceSettingValue struct {
	Name  string
	Value []byte
}
