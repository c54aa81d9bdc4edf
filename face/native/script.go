package native

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// ScriptService is what the face needs of the core's automation scripts.
type ScriptService interface {
	Create(ctx context.Context, in usher.ScriptCreate) (*usher.Script, error)
	Get(ctx context.Context, name string) (*usher.Script, error)
	List(ctx context.Context, f usher.ScriptFilter) (*usher.Page[*usher.Script], error)
	Update(ctx context.Context, name string, in usher.ScriptUpdate) (*usher.Script, error)
	Delete(ctx context.Context, name string) error
	Run(ctx context.Context, name, resource string) (*usher.ScriptRun, error)
	Bundle(ctx context.Context, name string) (*usher.ScriptBundle, error)
}

// scriptJSON is the native representation of a script. Type and
// extension say how a client script is served, as Corteza lists them.
type scriptJSON struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Source       string          `json:"source"`
	Triggers     []usher.Trigger `json:"triggers"`
	Bundle       string          `json:"bundle,omitempty"`
	Type         string          `json:"type,omitempty"`
	Extension    string          `json:"extension,omitempty"`
	Enabled      bool            `json:"enabled"`
	Invalid      bool            `json:"invalid"`
	CompileError string          `json:"compile_error,omitempty"`
	Directory    bool            `json:"directory"`
	Version      int             `json:"version"`
	CreatedBy    *int64          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

func toScriptJSON(s *usher.Script) scriptJSON {
	out := scriptJSON{ID: s.ID, Name: s.Name, Kind: string(s.Kind), Source: s.Source, Triggers: s.Triggers,
		Bundle: s.Bundle, Enabled: s.Enabled, Invalid: s.Invalid(), CompileError: s.CompileError,
		Directory: s.Directory, Version: s.Version, CreatedBy: optionalID(s.CreatedBy), CreatedAt: s.CreatedAt,
		UpdatedAt: s.UpdatedAt}
	if out.Triggers == nil {
		out.Triggers = []usher.Trigger{}
	}
	if s.Kind == usher.ScriptClient {
		out.Type, out.Extension = "text/javascript", "js"
	}
	return out
}

// scriptRunJSON is the native representation of a run.
type scriptRunJSON struct {
	Script    string     `json:"script"`
	Trigger   string     `json:"trigger"`
	Resource  string     `json:"resource"`
	Outcome   string     `json:"outcome"`
	Log       []string   `json:"log"`
	CreatedAt time.Time  `json:"created_at"`
	DoneAt    *time.Time `json:"done_at"`
}

func (h *Handler) listScripts(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	f := usher.ScriptFilter{Kind: usher.ScriptKind(q.Enum("kind", "", "server", "client")), Invalid: q.Bool("invalid"),
		Trigger: usher.Trigger(q.String("trigger")), Resources: commaList(q.Strings("resource")), Events: commaList(q.Strings("event")), Page: idPage(q)}
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Scripts.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, page, toScriptJSON, idCursor)
}

// commaList is the values of a repeated parameter, each split at commas.
func commaList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (h *Handler) createScript(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     string          `json:"name"`
		Kind     string          `json:"kind"`
		Source   string          `json:"source"`
		Triggers []usher.Trigger `json:"triggers"`
		Bundle   string          `json:"bundle"`
		Enabled  *bool           `json:"enabled"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Scripts.Create(r.Context(), usher.ScriptCreate{Name: req.Name, Kind: usher.ScriptKind(req.Kind),
		Source: req.Source, Triggers: req.Triggers, Bundle: req.Bundle, Enabled: req.Enabled})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+s.Name)
	return web.WriteJSON(w, http.StatusCreated, toScriptJSON(s))
}

func (h *Handler) getScript(w http.ResponseWriter, r *http.Request) error {
	s, err := h.Scripts.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toScriptJSON(s))
}

func (h *Handler) updateScript(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Source   *string          `json:"source"`
		Triggers *[]usher.Trigger `json:"triggers"`
		Bundle   *string          `json:"bundle"`
		Enabled  *bool            `json:"enabled"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Scripts.Update(r.Context(), r.PathValue("name"), usher.ScriptUpdate{Source: req.Source,
		Triggers: req.Triggers, Bundle: req.Bundle, Enabled: req.Enabled})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toScriptJSON(s))
}

func (h *Handler) deleteScript(w http.ResponseWriter, r *http.Request) error {
	if err := h.Scripts.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) runScript(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Resource string `json:"resource"`
	}
	if err := web.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	run, err := h.Scripts.Run(r.Context(), r.PathValue("name"), req.Resource)
	if err != nil {
		return err
	}
	out := scriptRunJSON{Script: run.Script, Trigger: string(run.Trigger), Resource: run.Resource, Outcome: run.Outcome,
		Log: run.Log, CreatedAt: run.CreatedAt, DoneAt: run.DoneAt}
	if out.Log == nil {
		out.Log = []string{}
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// scriptBundle serves a bundle of client scripts as one JavaScript file,
// with an ETag for conditional requests.
func (h *Handler) scriptBundle(w http.ResponseWriter, r *http.Request) error {
	b, err := h.Scripts.Bundle(r.Context(), r.PathValue("bundle"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", b.ETag)
	w.Header().Set("Cache-Control", "private, max-age=60, must-revalidate")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Last-Modified", b.UpdatedAt.UTC().Format(http.TimeFormat))
	if etagMatches(r.Header.Get("If-None-Match"), b.ETag[1:len(b.ETag)-1]) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", b.Type+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b.Source)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Source)
	}
	return nil
}
