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
	"usher/mail/letter"
)

// templates holds the built-in HTML layout of mails.
//
//go:embed templates
var templates embed.FS

// Layout renders the HTML part of a mail from its plain text: the product
// name, the subject as a heading, the text's paragraphs with its links
// made links and its codes set apart, and the text's signature — why the
// recipient got the mail — as its footer. The plain text stays the mail's first part, so
// a reader that shows no HTML misses nothing.
type Layout struct {
	// Product is the name the mail is signed with.
	Product string
	tmpl    *template.Template
	// lang is the language of mails that do not say theirs.
	lang string
}

// NewLayout returns the layout for mails signed by product, in lang when
// a mail does not say its language ("en" when empty). dir, when set, is a
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
	if lang == "" {
		lang = "en"
	}
	return &Layout{Product: product, tmpl: t, lang: lang}, nil
}

// span is a run of a paragraph: text, a link or a code.
type span struct {
	Text string
	Link template.URL
	Code bool
}

// linkRE finds the http(s) links in a mail's text.
var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// HTML renders the HTML part of m. The signature that ends a mail written
// from a template (letter.Signature: why the recipient got it, and the
// product) becomes the HTML's footer.
func (l *Layout) HTML(m *usher.Mail) (string, error) {
	text := strings.ReplaceAll(m.Body, "\r\n", "\n")
	var reason string
	if i := strings.LastIndex(text, "\n"+letter.Signature); i >= 0 {
		text, reason = text[:i], strings.TrimSpace(text[i+1+len(letter.Signature):])
	}
	var paras [][]span
	for _, block := range strings.Split(text, "\n\n") {
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
	lang := m.Lang
	if lang == "" {
		lang = l.lang
	}
	var b strings.Builder
	err := l.tmpl.ExecuteTemplate(&b, "mail", struct {
		Lang, Product, Subject, Reason string
		Paragraphs                     [][]span
	}{lang, l.Product, m.Subject, reason, paras})
	if err != nil {
		return "", fmt.Errorf("mail: render mail %d: %w", m.ID, err)
	}
	return b.String(), nil
}
