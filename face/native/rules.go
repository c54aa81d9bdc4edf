package native

import (
	"net/http"

	"usher"
	"usher/web"
)

type ruleJSON struct {
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	Access    string `json:"access"`
}

func writeRules(w http.ResponseWriter, rules []usher.Rule) error {
	return writeList(w, rules, func(r usher.Rule) ruleJSON { return ruleJSON{r.Resource, r.Operation, string(r.Access)} })
}

func (h *Handler) groupRules(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	rules, err := h.Groups.Rules(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeRules(w, rules)
}

// setRules serves PUT (replace) and PATCH (add or change) of a role's rules.
func (h *Handler) setRules(replace bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		var req struct {
			Rules []ruleJSON `json:"rules"`
		}
		if err := web.DecodeJSON(r, &req); err != nil {
			return err
		}
		if req.Rules == nil {
			return web.Invalid("rules", usher.CodeRequired, "is required (an empty list for none)")
		}
		rules := make([]usher.Rule, len(req.Rules))
		for i, x := range req.Rules {
			rules[i] = usher.Rule{Resource: x.Resource, Operation: x.Operation, Access: usher.Access(x.Access)}
		}
		out, err := h.Groups.SetRules(r.Context(), ref, rules, replace)
		if err != nil {
			return err
		}
		return writeRules(w, out)
	}
}

func (h *Handler) deleteRules(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	if _, err := h.Groups.DeleteRules(r.Context(), ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) operations(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		// A whole list takes no parameter: a cursor is not ignored.
		return err
	}
	ops, err := h.Groups.Operations(r.Context())
	if err != nil {
		return err
	}
	type opJSON struct {
		Resource    string `json:"resource"`
		Operation   string `json:"operation"`
		Description string `json:"description"`
	}
	return writeList(w, ops, func(o usher.Operation) opJSON { return opJSON(o) })
}

func (h *Handler) effective(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	resource := q.String("resource")
	if err := q.Err(); err != nil {
		return err
	}
	perms, err := h.Groups.Effective(r.Context(), resource)
	if err != nil {
		return err
	}
	type permJSON struct {
		Resource  string `json:"resource"`
		Operation string `json:"operation"`
		Allow     bool   `json:"allow"`
	}
	return writeList(w, perms, func(p usher.Permission) permJSON { return permJSON(p) })
}
