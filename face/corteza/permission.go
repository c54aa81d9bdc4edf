package corteza

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"usher"
)

// Corteza's permission rules name resources "system", "system:role:ID",
// "system:user:ID" and "system:application:ID" ("*" for every instance),
// and operations such as "grant" or "user.create". Each maps onto one of
// the core's resources and operations, so a rule written for Corteza
// means the same here; the core decides. This table is only translation.
type opMap struct {
	resource, operation string // Corteza's: "system", "system:user", …
	usherRes, usherOp   string // the core's: "user", "update"
}

var opTable = []opMap{
	{"system", "grant", "group", "rules"},
	{"system", "role.create", "group", "create"},
	{"system", "user.create", "user", "create"},
	{"system", "application.create", "application", "create"},
	{"system", "settings.read", "instance_settings", "read"},
	{"system", "settings.manage", "instance_settings", "manage"},
	{"system", "actionlog.read", "audit", "read"},
	{"system", "organisation.create", "organisation", "create"},
	{"system:role", "read", "group", "read"},
	{"system:role", "update", "group", "update"},
	{"system:role", "delete", "group", "delete"},
	{"system:role", "members.manage", "group", "members"},
	{"system:user", "read", "user", "read"},
	{"system:user", "update", "user", "update"},
	{"system:user", "delete", "user", "delete"},
	{"system:user", "suspend", "user", "state"},
	{"system:user", "unsuspend", "user", "state"},
	{"system:user", "impersonate", "user", "impersonate"},
	{"system:application", "read", "application", "read"},
	{"system:application", "update", "application", "update"},
	{"system:application", "delete", "application", "delete"},
	{"system:organisation", "read", "organisation", "read"},
	{"system:organisation", "update", "organisation", "update"},
}

// splitResource splits "system:user:42" into "system:user" and "42"; the
// instance of "system:user:*" and of "system" is "".
func splitResource(res string) (string, string) {
	parts := strings.SplitN(res, ":", 3)
	if len(parts) < 3 || strings.Contains(parts[2], ":") {
		// "system:role:*:x" is no resource of Corteza's (its whitelist
		// trims the id at the last colon): it matches no table row.
		return res, ""
	}
	if parts[2] == "*" {
		return parts[0] + ":" + parts[1], ""
	}
	return parts[0] + ":" + parts[1], parts[2]
}

// toUsherRule translates a Corteza rule; false for one this face does not
// map.
func toUsherRule(roleID int64, res, op string, access usher.Access) (usher.Rule, bool) {
	typ, inst := splitResource(res)
	for _, m := range opTable {
		if m.resource == typ && m.operation == op {
			r := usher.Rule{RoleID: roleID, Resource: m.usherRes, Operation: m.usherOp, Access: access}
			if inst != "" {
				r.Resource += ":" + inst
			}
			return r, true
		}
	}
	return usher.Rule{}, false
}

// permRule is Corteza's permission rule.
type permRule struct {
	RoleID    int64  `json:"roleID,string"`
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	Access    string `json:"access"`
}

// fromUsherRule translates a core rule into Corteza's rules (one core
// operation may be several of Corteza's); none for a rule Corteza has no
// name for: an operation the table leaves out, or one rule on one
// instance of an operation Corteza names on "system" alone, which shown
// as "system" would read as every instance's, and sent back would become
// one.
func fromUsherRule(r usher.Rule) []permRule {
	typ, inst, _ := strings.Cut(r.Resource, ":")
	var out []permRule
	for _, m := range opTable {
		if m.usherRes != typ || m.usherOp != r.Operation {
			continue
		}
		res := m.resource
		switch {
		case m.resource == "system" && inst != "":
			continue
		case m.resource != "system" && inst == "":
			res += ":*"
		case m.resource != "system":
			res += ":" + inst
		}
		out = append(out, permRule{RoleID: r.RoleID, Resource: res, Operation: m.operation, Access: string(r.Access)})
	}
	return out
}

// writeRules answers a role's rules in Corteza's names, and says in the
// X-Usher-Unlisted-Rules header how many of them Corteza has no name for
// (fromUsherRule): they are in force all the same, and the native API
// lists them (GET /v1/groups/{id}/rules).
func writeRules(w http.ResponseWriter, rules []usher.Rule) error {
	out := []permRule{}
	unlisted := 0
	for _, x := range rules {
		named := fromUsherRule(x)
		if len(named) == 0 {
			unlisted++
		}
		out = append(out, named...)
	}
	w.Header().Set("X-Usher-Unlisted-Rules", strconv.Itoa(unlisted))
	return respond(w, out)
}

func (h *Handler) listPermissions(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Groups.Operations(r.Context()); err != nil {
		return err
	}
	type op struct {
		Resource  string `json:"resource"`
		Operation string `json:"operation"`
	}
	out := make([]op, 0, len(opTable))
	for _, m := range opTable {
		res := m.resource
		if res != "system" {
			res += ":*"
		}
		out = append(out, op{res, m.operation})
	}
	return respond(w, out)
}

func (h *Handler) effectivePermissions(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	perms, err := h.Groups.Effective(r.Context(), "")
	if err != nil {
		return err
	}
	allow := map[string]bool{}
	for _, x := range perms {
		allow[x.Resource+"."+x.Operation] = x.Allow
	}
	// The core's group.create is a team's by default; Corteza's
	// role.create, the one operation mapped to it, is a role's, which the
	// core decides apart.
	err = h.Groups.MayCreate(r.Context(), usher.GroupRole)
	if err != nil && usher.ErrorKind(err) != usher.KindForbidden {
		return err
	}
	allow["group.create"] = err == nil
	type verdict struct {
		Resource  string `json:"resource"`
		Operation string `json:"operation"`
		Allow     bool   `json:"allow"`
	}
	want := p.str("resource")
	out := []verdict{}
	for _, m := range opTable {
		res := m.resource
		if res != "system" {
			res += ":*"
		}
		if want != "" && want != res && want != m.resource {
			continue
		}
		out = append(out, verdict{res, m.operation, allow[m.usherRes+"."+m.usherOp]})
	}
	return respond(w, out)
}

func (h *Handler) readRules(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	rules, err := h.Groups.Rules(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeRules(w, rules)
}

// updateRules sets and removes a role's rules: access "allow" or "deny"
// sets one, "inherit" removes it, as Corteza's PATCH does.
func (h *Handler) updateRules(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	var in []permRule
	if raw := p.raw("rules"); raw != nil {
		if err := json.Unmarshal(raw, &in); err != nil {
			return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid rules: " + err.Error()}
		}
	}
	// "inherit" removes a rule; the core patches the role's rules in one
	// transaction.
	var set, remove []usher.Rule
	mirror := "" // what the patch does to the type-wide user read
	for _, x := range in {
		access := usher.Access(x.Access)
		if x.Access == "inherit" {
			access = "" // whatever the rule's verdict
		}
		ur, known := toUsherRule(ref.ID, x.Resource, x.Operation, access)
		if !known {
			return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeInvalidParameter,
				Message: "unknown operation " + x.Operation + " on " + x.Resource}
		}
		if typ, inst := splitResource(x.Resource); typ == "system:role" && inst == "" && x.Access != "inherit" {
			// Corteza's system:role:* names every role; the core's rule
			// on every group would reach every team and plain group too.
			return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeInvalidParameter,
				Message: "a rule on " + x.Resource + " would reach every team and group besides the roles: name one role, system:role:<id>"}
		}
		if x.Access == "inherit" {
			remove = append(remove, ur)
		} else {
			set = append(set, ur)
		}
		if typ, inst := splitResource(x.Resource); typ == "system:user" && inst == "" && x.Operation == "read" {
			mirror = x.Access
		}
	}
	// Corteza's user list shows the caller only the users it may read;
	// usher decides lists once, on user list, which Corteza has no name
	// for. So a type-wide read deny is a list deny too, and the list deny
	// goes with the read deny it followed: when an allow or an inherit
	// replaces a read deny, not a list deny set apart from a read allow.
	list := usher.Rule{RoleID: ref.ID, Resource: "user", Operation: "list", Access: usher.Deny}
	switch mirror {
	case "deny":
		set = append(set, list)
	case "allow", "inherit":
		// Setting a role's rules needs its read (the core refuses one a
		// rule denies it), so its rules are there to read.
		have, err := h.Groups.Rules(r.Context(), ref)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(have, func(x usher.Rule) bool {
			return x.Resource == "user" && x.Operation == "read" && x.Access == usher.Deny
		}) {
			remove = append(remove, list)
		}
	}
	if _, err := h.Groups.PatchRules(r.Context(), ref, set, remove); err != nil {
		return err
	}
	// Corteza's Permissions.Update answers resputil.OK().
	return ok(w)
}

func (h *Handler) deleteRules(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	if _, err := h.Groups.DeleteRules(r.Context(), ref); err != nil {
		return err
	}
	return ok(w)
}
