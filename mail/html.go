package mail

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"usher"
)

// templates holds the built-in HTML layout of mails.
//
//go:embed templates
var templates embed.FS

// Layout renders the HTML part of a mail from its plain text: the product
// name, the subject as a heading, the text's paragraphs with its links
// made links and its codes set apart, and a line that says why the
// recipient got the mail. The plain text stays the mail's first part, so
// a reader that shows no HTML misses nothing.
type Layout struct {
	// Product is the name the mail is signed with.
	Product string
	tmpl    *template.Template
	// reasons says, by language and then by mail kind, why the recipient
	// got a mail of the kind.
	reasons map[string]map[string]string
	// lang is the language of the reasons used.
	lang string
}

// reasons are the built-in lines that say why a mail came, by language:
// English and German. A language is chosen with NewLayout's lang.
var reasons = map[string]map[string]string{
	"en": {
		"confirm":                "You got this mail because someone signed up with this address. If it was not you, ignore it.",
		"confirm_email":          "You got this mail because this address was added to an account. If it was not you, ignore it.",
		"confirm_change":         "You got this mail because someone asked to move an account to this address.",
		"email_change_requested": "You got this mail because it is the address of your account, which is about to change.",
		"reset":                  "You got this mail because someone asked to reset the password of the account with this address.",
		"reminder":               "You got this mail because a reminder you set, or one set for you, came due.",
		"":                       "You got this mail because of your account at this service.",
	},
	"de": {
		"confirm":                "Sie erhalten diese Mail, weil sich jemand mit dieser Adresse registriert hat. Waren Sie es nicht, ignorieren Sie sie.",
		"confirm_email":          "Sie erhalten diese Mail, weil diese Adresse einem Konto hinzugefügt wurde. Waren Sie es nicht, ignorieren Sie sie.",
		"confirm_change":         "Sie erhalten diese Mail, weil jemand ein Konto auf diese Adresse umstellen möchte.",
		"email_change_requested": "Sie erhalten diese Mail, weil dies die Adresse Ihres Kontos ist, die sich bald ändert.",
		"reset":                  "Sie erhalten diese Mail, weil jemand das Passwort des Kontos mit dieser Adresse zurücksetzen möchte.",
		"reminder":               "Sie erhalten diese Mail, weil eine Erinnerung fällig wurde, die Sie oder jemand für Sie angelegt hat.",
		"":                       "Sie erhalten diese Mail wegen Ihres Kontos bei diesem Dienst.",
	},
}

// NewLayout returns the layout for mails signed by product, with the
// reasons in lang ("en" when empty or unknown). dir, when set, is a
// directory whose mail.html takes the place of the built-in template.
func NewLayout(product, lang, dir string) (*Layout, error) {
	var fsys fs.FS = templates
	pattern := "templates/mail.html"
	if dir != "" {
		if _, err := os.Stat(dir + "/mail.html"); err == nil {
			fsys, pattern = os.DirFS(dir), "mail.html"
		}
	}
	t, err := template.ParseFS(fsys, pattern)
	if err != nil {
		return nil, fmt.Errorf("mail: template: %w", err)
	}
	if _, ok := reasons[lang]; !ok {
		lang = "en"
	}
	return &Layout{Product: product, tmpl: t, reasons: reasons, lang: lang}, nil
}

// span is a run of a paragraph: text, a link or a code.
type span struct {
	Text string
	Link template.URL
	Code bool
}

// linkRE finds the http(s) links in a mail's text.
var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// HTML renders the HTML part of m.
func (l *Layout) HTML(m *usher.Mail) (string, error) {
	var paras [][]span
	for _, block := range strings.Split(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n\n") {
		block = strings.TrimRight(block, "\n ")
		if strings.TrimSpace(block) == "" {
			continue
		}
		if strings.HasPrefix(block, "    ") && !strings.Contains(strings.TrimSpace(block), " ") {
			paras = append(paras, []span{{Text: strings.TrimSpace(block), Code: true}})
			continue
		}
		var p []span
		rest := block
		for _, loc := range linkRE.FindAllStringIndex(block, -1) {
			start := loc[0] - (len(block) - len(rest))
			end := loc[1] - (len(block) - len(rest))
			if start > 0 {
				p = append(p, span{Text: rest[:start]})
			}
			link := strings.TrimRight(rest[start:end], ".,;)")
			// Only the links' own characters: a link was never HTML.
			p = append(p, span{Text: link, Link: template.URL(link)})
			rest = rest[start+len(link):]
		}
		if rest != "" {
			p = append(p, span{Text: rest})
		}
		paras = append(paras, p)
	}
	reason, ok := l.reasons[l.lang][m.Kind]
	if !ok {
		reason = l.reasons[l.lang][""]
	}
	var b strings.Builder
	err := l.tmpl.ExecuteTemplate(&b, "mail", struct {
		Lang, Product, Subject, Reason string
		Paragraphs                     [][]span
	}{l.lang, l.Product, m.Subject, reason, paras})
	if err != nil {
		return "", fmt.Errorf("mail: render mail %d: %w", m.ID, err)
	}
	return b.String(), nil
}
