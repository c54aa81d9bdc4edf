package web

import (
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

	"usher"
)

// uploadMemory is how much of a multipart body is kept in memory; the rest
// goes to temporary files until the request ends.
const uploadMemory = 1 << 20

// Upload is a file posted in a multipart/form-data body, with the form's
// other fields. Close it when done.
type Upload struct {
	// Name is the file's name as the client gave it: a client's word,
	// never a path.
	Name   string
	File   multipart.File
	Values url.Values
	form   *multipart.Form
}

// Close closes the file and removes any temporary file of the form.
func (u *Upload) Close() {
	u.File.Close()
	_ = u.form.RemoveAll()
}

// ReadUpload reads a multipart/form-data body of up to limit bytes and
// opens the file sent as field. A body over limit is 413 body_too_large;
// one that is not a form, or a form without the file, is 400 naming the
// field.
func ReadUpload(w http.ResponseWriter, r *http.Request, limit int64, field string) (*Upload, error) {
	if _, err := MediaType(r, MediaMultipart); err != nil {
		return nil, err
	}
	UploadBody(w, r, limit)
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		if IsTooLarge(err) {
			return nil, &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeBodyTooLarge,
				Message: fmt.Sprintf("the request body is over %d bytes", limit)}
		}
		return nil, Invalid("", usher.CodeMalformedForm, "the body is not a multipart/form-data form")
	}
	files := r.MultipartForm.File[field]
	switch {
	case len(files) == 0:
		_ = r.MultipartForm.RemoveAll()
		return nil, Invalid(field, usher.CodeRequired, "is required: the file, as a part of the form")
	case len(files) > 1:
		_ = r.MultipartForm.RemoveAll()
		return nil, Invalid(field, usher.CodeRepeatedParameter, "is given more than once")
	}
	f, err := files[0].Open()
	if err != nil {
		_ = r.MultipartForm.RemoveAll()
		return nil, Invalid(field, usher.CodeUnreadableBody, "could not be read")
	}
	return &Upload{Name: files[0].Filename, File: f, Values: r.MultipartForm.Value, form: r.MultipartForm}, nil
}

// ContentDisposition is a Content-Disposition header for a file's name,
// as RFC 6266 has it: a quoted-string with quotes and backslashes escaped,
// or filename* in UTF-8 for a name beyond ASCII. A name that cannot be
// written (it holds control characters, which the core removes anyway) is
// left out: the header can never be split or extended by a name.
func ContentDisposition(disposition, name string) string {
	if v := mime.FormatMediaType(disposition, map[string]string{"filename": name}); v != "" {
		return v
	}
	return disposition
}
