// Package packaging holds the files that install usher — the systemd unit
// here, the Dockerfile and compose.yaml at the top of the repository — and
// the tests that keep them sound: a lint of the Dockerfile in the manner of
// hadolint, the unit's hardening, a build of the binary as the image builds
// it, and the image itself where a Docker daemon answers.
package packaging

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// read returns a file of the repository, by its path from the top.
func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// instructions returns the Dockerfile's instructions, continuation lines
// joined and comments dropped, each as its keyword and the rest.
func instructions(t *testing.T, dockerfile string) [][2]string {
	t.Helper()
	var out [][2]string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(dockerfile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if cont {
			continue
		}
		kw, rest, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, [2]string{strings.ToUpper(kw), strings.TrimSpace(rest)})
		cur.Reset()
	}
	return out
}

// TestDockerfile lints the Dockerfile: base images pinned by tag and never
// latest, a build stage and a runtime stage, a static build, a non-root
// user in the final stage, the data volume, a health check in exec form
// that needs no shell, and the Go version of go.mod.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := instructions(t, read(t, "Dockerfile"))
	var froms []string
	final := map[string][]string{} // the final stage's instructions by keyword
	for _, in := range ins {
		if in[0] == "FROM" {
			froms = append(froms, in[1])
			final = map[string][]string{}
		}
		final[in[0]] = append(final[in[0]], in[1])
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, have FROM %v", froms)
	}
	for _, f := range froms {
		image, _, _ := strings.Cut(f, " ")
		if !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
			t.Errorf("FROM %s: pin the image's tag (hadolint DL3006, DL3007)", image)
		}
	}
	goMod := read(t, "go.mod")
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if m == nil || !strings.HasPrefix(froms[0], "golang:"+m[1]) {
		t.Errorf("the build stage %q does not use go.mod's Go %v", froms[0], m)
	}
	joined := func(kw string) string { return strings.Join(final[kw], "\n") }
	for _, tt := range []struct {
		what string
		ok   bool
	}{
		{"the build is static (CGO_ENABLED=0)", regexp.MustCompile(`CGO_ENABLED=0 go build`).MatchString(read(t, "Dockerfile"))},
		{"the final stage runs as a numeric non-root user", regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(joined("USER"))},
		{"the data volume", strings.Contains(joined("VOLUME"), "/data")},
		{"the database in the volume", strings.Contains(joined("ENV"), "USHER_DATABASE_URL=/data/")},
		{"a port", joined("EXPOSE") != ""},
		{"a health check in exec form, by usher health", strings.Contains(joined("HEALTHCHECK"), `CMD ["/usr/local/bin/usher", "health"]`)},
		{"ENTRYPOINT in exec form (hadolint DL3025)", strings.HasPrefix(joined("ENTRYPOINT"), "[")},
		{"CMD in exec form (hadolint DL3025)", strings.HasPrefix(joined("CMD"), "[")},
		{"no ADD where COPY does (hadolint DL3020)", len(final["ADD"]) == 0},
	} {
		if !tt.ok {
			t.Errorf("Dockerfile: %s is missing", tt.what)
		}
	}
	for _, in := range ins {
		if in[0] == "RUN" && (strings.Contains(in[1], "curl ") || strings.Contains(in[1], "wget ")) {
			t.Errorf("RUN %s: the build downloads outside the module proxy", in[1])
		}
		if in[0] == "WORKDIR" && !strings.HasPrefix(in[1], "/") {
			t.Errorf("WORKDIR %s: use an absolute path (hadolint DL3000)", in[1])
		}
	}
}

// TestSystemdUnit checks the unit's hardening and that systemd accepts it
// where systemd-analyze is installed.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit := read(t, "packaging/usher.service")
	for _, want := range []string{
		"DynamicUser=yes", "StateDirectory=usher", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "UMask=0077", "SystemCallFilter=@system-service",
		"ExecStart=/usr/local/bin/usher serve", "KillSignal=SIGTERM",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("usher.service lacks %q", strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; the unit was checked by reading only")
	}
	// verify wants the binary the unit names: point it at any executable.
	dir := t.TempDir()
	path := filepath.Join(dir, "usher.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/usher", analyze)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestCompose checks the trial stack: usher, PostgreSQL with a health check
// usher waits for, and a mail catcher reached without STARTTLS.
func TestCompose(t *testing.T) {
	t.Parallel()
	compose := read(t, "compose.yaml")
	for _, want := range []string{
		"usher:", "build: .", "postgres:", "condition: service_healthy", "pg_isready", "mailpit:",
		"USHER_SMTP_URL: smtp://mailpit:1025?tls=none", "USHER_DATABASE_URL: postgres://usher:usher@postgres:5432/usher",
		"USHER_ADDR: 0.0.0.0:8080",
	} {
		if !strings.Contains(compose, want) {
			t.Errorf("compose.yaml lacks %q", want)
		}
	}
}

// TestReleaseBuild builds usher as the Dockerfile does and checks that the
// binary is static and prints the version -ldflags gave it.
func TestReleaseBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds usher; not with -short")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "usher")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -X main.version=v9.8.7", "-o", bin, "./cmd/usher")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: it is not static")
		}
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "usher v9.8.7") {
		t.Errorf("usher version: %v %q", err, out)
	}
}

// TestImage builds the image and runs usher version in it, where a Docker
// daemon answers; elsewhere TestDockerfile's lint is what checks it.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image; not with -short")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, docker, "info").Run(); err != nil {
		t.Skip("no Docker daemon answers; the Dockerfile is checked by TestDockerfile only")
	}
	tag := "usher-test:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	build := exec.Command(docker, "build", "--build-arg", "VERSION=v0.0.0-test", "-t", tag, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command(docker, "rmi", "-f", tag).Run()
	out, err := exec.Command(docker, "run", "--rm", tag, "version").CombinedOutput()
	if err != nil || !bytes.HasPrefix(out, []byte("usher v0.0.0-test")) {
		t.Errorf("docker run usher version: %v %q", err, out)
	}
}
