package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// Message is a message the server received.
type Message struct {
	// From and To are the envelope's sender and recipients, as given
	// to MAIL FROM and RCPT TO.
	From string
	To   []string
	// Header is the message's header as sent, still encoded.
	Header mail.Header
	// Subject is the Subject header, decoded from RFC 2047 words.
	Subject string
	// Body is the text of the message: the body of a text/plain
	// message, or the first text/plain part of a multipart one, with
	// its quoted-printable or base64 transfer encoding undone and line
	// breaks as "\n". It is empty if the message has no text/plain
	// part. Charsets other than UTF-8 and US-ASCII are left as they are.
	Body string
	// HTML is the first text/html part, decoded like Body; empty if the
	// message has none.
	HTML string
	// Raw is the message as it came after DATA, with CRLF line breaks.
	Raw []byte
}

// errNoText reports an entity with no text/plain in it.
var errNoText = errors.New("no text/plain part")

// parse reads the header, subject and text of a raw message.
func parse(raw []byte) (Message, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("reading header: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("decoding subject: %w", err)
	}
	body, err := text(textproto.MIMEHeader(m.Header), m.Body, "text/plain")
	if err != nil && !errors.Is(err, errNoText) {
		return Message{}, err
	}
	again, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("reading header: %w", err)
	}
	html, err := text(textproto.MIMEHeader(again.Header), again.Body, "text/html")
	if err != nil && !errors.Is(err, errNoText) {
		return Message{}, err
	}
	return Message{Header: m.Header, Subject: subject, Body: body, HTML: html, Raw: raw}, nil
}

// text returns the decoded text of the entity with header h and body r,
// looking into multipart entities for their first part of type want
// (text/plain, text/html).
func text(h textproto.MIMEHeader, r io.Reader, want string) (string, error) {
	mediaType, params := "text/plain", map[string]string(nil)
	if ct := h.Get("Content-Type"); ct != "" {
		var err error
		mediaType, params, err = mime.ParseMediaType(ct)
		if err != nil {
			return "", fmt.Errorf("content type %q: %w", ct, err)
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		// NextRawPart leaves the transfer encoding to be undone
		// below, the same way for every part.
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return "", errNoText
			}
			if err != nil {
				return "", fmt.Errorf("reading %s: %w", mediaType, err)
			}
			body, err := text(p.Header, p, want)
			if !errors.Is(err, errNoText) {
				return body, err
			}
		}
	}
	if mediaType != want {
		return "", errNoText
	}
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks
	case "", "7bit", "8bit", "binary":
	default:
		return "", fmt.Errorf("unknown transfer encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("decoding body: %w", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}
