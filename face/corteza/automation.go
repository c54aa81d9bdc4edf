package corteza

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"usher"
)

// ScriptService is what the face needs of the core's automation scripts.
type ScriptService interface {
	List(ctx context.Context, f usher.ScriptFilter) (*usher.Page[*usher.Script], error)
	Bundle(ctx context.Context, name string) (*usher.ScriptBundle, error)
	Run(ctx context.Context, name, ref string) (*usher.ScriptRun, error)
}

// script is an automation script as Corteza lists it.
type script struct {
	Name     string          `json:"name"`
	Label    string          `json:"label"`
	Type     string          `json:"type"`
	Bundle   string          `json:"bundle,omitempty"`
	Enabled  bool            `json:"enabled"`
	Invalid  bool            `json:"invalid,omitempty"`
	Triggers []scriptTrigger `json:"triggers"`
}

// scriptTrigger is one trigger: Corteza's resource type and event type.
type scriptTrigger struct {
	ResourceType string `json:"resourceType"`
	EventType    string `json:"eventType"`
}

// scriptFilter is the filter the automation list echoes.
type scriptFilter struct {
	ResourceTypePrefixes []string `json:"resourceTypePrefixes"`
	ResourceTypes        []string `json:"resourceTypes"`
	EventTypes           []string `json:"eventTypes"`
	ExcludeServerScripts bool     `json:"excludeServerScripts"`
	ExcludeClientScripts bool     `json:"excludeClientScripts"`
	ExcludeInvalid       bool     `json:"excludeInvalid"`
	Count                int      `json:"count"`
}

func (h *Handler) listAutomation(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	f := scriptFilter{ResourceTypePrefixes: nilIfEmpty(p.strs("resourceTypePrefixes")), ResourceTypes: nilIfEmpty(p.strs("resourceTypes")),
		EventTypes: nilIfEmpty(p.strs("eventTypes")), ExcludeServerScripts: p.boolean("excludeServerScripts"),
		ExcludeClientScripts: p.boolean("excludeClientScripts"), ExcludeInvalid: p.boolean("excludeInvalid")}
	sf := usher.ScriptFilter{Events: f.EventTypes, Page: usher.PageRequest{Limit: listCap, WithTotal: true}}
	for _, rt := range append(append([]string{}, f.ResourceTypes...), f.ResourceTypePrefixes...) {
		sf.Resources = append(sf.Resources, strings.TrimPrefix(rt, "system:"))
	}
	switch {
	case f.ExcludeServerScripts && f.ExcludeClientScripts:
		return respond(w, listPayload{Filter: f, Set: nil})
	case f.ExcludeServerScripts:
		sf.Kind = usher.ScriptClient
	case f.ExcludeClientScripts:
		sf.Kind = usher.ScriptServer
	}
	if f.ExcludeInvalid {
		no := false
		sf.Invalid = &no
	}
	page, err := h.Scripts.List(r.Context(), sf)
	if err != nil {
		return err
	}
	var set []*script
	for _, s := range page.Items {
		out := &script{Name: s.Name, Label: s.Name, Type: string(s.Kind), Bundle: s.Bundle, Enabled: s.Enabled,
			Invalid: s.CompileError != "", Triggers: []scriptTrigger{}}
		for _, t := range s.Triggers {
			res, ev, _ := strings.Cut(string(t), ".")
			if res != "system" {
				res = "system:" + res
			}
			out.Triggers = append(out.Triggers, scriptTrigger{ResourceType: res, EventType: ev})
		}
		set = append(set, out)
	}
	f.Count = len(set)
	return respond(w, listPayload{Filter: f, Set: set})
}

// automationBundle serves a client script bundle: /automation/{bundle}-{type}.{ext}.
func (h *Handler) automationBundle(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	stem, ext, ok := strings.Cut(file, ".")
	// Corteza's client asks for "{bundle}-client-scripts.js"; a bundle's
	// name may hold dashes itself.
	name, typ, found := strings.Cut(stem, "-client-scripts")
	if !found || typ != "" {
		i := strings.LastIndexByte(stem, '-')
		if i <= 0 {
			return errNotFound("bundle")
		}
		name = stem[:i]
	}
	if !ok || name == "" || ext != "js" {
		return errNotFound("bundle")
	}
	b, err := h.Scripts.Bundle(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	if b.ETag != "" {
		w.Header().Set("ETag", `"`+b.ETag+`"`)
	}
	_, err = w.Write(b.Source)
	return err
}

// run runs the named server script on the resource and answers as
// Corteza's trigger does: OK, or the script's failure.
func (h *Handler) run(w http.ResponseWriter, r *http.Request, p *params, ref string) error {
	name := p.str("script")
	if name == "" {
		return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "script is required"}
	}
	res, err := h.Scripts.Run(r.Context(), name, ref)
	if err != nil {
		return err
	}
	if res.Outcome != "ok" {
		msg := "script " + res.Outcome
		if len(res.Log) > 0 {
			msg += ": " + res.Log[len(res.Log)-1]
		}
		return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeScriptRefused, Message: msg}
	}
	return ok(w)
}

func (h *Handler) automationTrigger(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	return h.run(w, r, p, "")
}

// trigger runs a script on the resource named by the path value.
func (h *Handler) trigger(kind, pathValue string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := readParams(r)
		if err != nil {
			return err
		}
		id, err := p.id(pathValue)
		if err != nil || id == 0 {
			return errNotFound(kind)
		}
		return h.run(w, r, p, kind+":"+strconv.FormatInt(id, 10))
	}
}
