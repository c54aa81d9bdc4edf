package coretest

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SSH public keys for tests, each an authorized_keys line.
const (
	// RSAKey is a 2048-bit RSA key without a comment, the smallest RSA key
	// the core accepts.
	RSAKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCn2THVih16VKypEYXCYIl0p4cm8L9Fq4lH9XUYYhbkQpHxSaapdp2DuiQVdzEVfKCDvTmoY1ZMltef6hAAbngrDHSj1CyDmo+hy1kOkWcrtFJJAlCoLeQFf/An2wN98RFU2Q5fV9SBfb1ztGX1tTAfY8vxSXLm6KPcDKrCr0FDIkopboe8Eb8btxzHwpOP31dc65hk7f2I0HEI2lkjnoqi4F7dXtml8M59Y1Sg/kNHpLVGwKZ8DjPvLoj7RhYaGEaHaJnrEZrZYAan6PN3r6OwRNhB1c8Ny2QEo+PggTdWwMA8qMMKSgWxhg2nKiDU9LmFInhQ7OcGvJ4vSmzJNblz"
	// Ed25519Key is an Ed25519 key with the comment loic@call.
	Ed25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHMF+fnyxFoJWdOcn59d/K4pzgCHVcNz5rLi5bw/xBcJ loic@call"
	// ECDSAKey is an ECDSA P-256 key without a comment.
	ECDSAKey = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLENbL6lQg8e/e23GuU7q6Nibggf5zFFBUESATWbqiZQla5dW685c+dCNqUjDtxtTFcMsO4aZh8azxuPpAqvUIM="
	// ShortRSAKey is a 1024-bit RSA key, which the core refuses.
	ShortRSAKey = "ssh-rsa AAAAB3NzaC1yc2EAAAABJQAAAIEAiPWx6WM4lhHNedGfBpPJNPpZ7yKu+dnn1SJejgt4596k6YjzGGphH2TUxwKzxcKDKKezwkpfnxPkSMkuEspGRt/aZZ9wa++Oi7Qkr8prgHc4soW6NUlfDzpvZK2H5E7eQaSeP3SAwGmQKUFHCddNaP0L+hM7zhFNzjFvpaMgJw0="
	// DSAKey is a DSA key with a comment, which the core refuses.
	DSAKey = "ssh-dss AAAAB3NzaC1kc3MAAACBAMLrhYgI3atfrSD6KDas1b/3n6R/HP+bLaHHX6oh+L1vg31mdUqK0Ac/NjZoQunavoyzqdPYhFz9zzOezCrZKjuJDS3NRK9rspvjgM0xYR4d47oNZbdZbwkI4cTv/gcMlquRy0OvpfIvJtjtaJWMwTLtM5VhRusRuUlpH99UUVeXAAAAFQCVyX+92hBEjInEKL0v13c/egDCTQAAAIEAvFdWGq0ccOPbw4f/F8LpZqvWDydAcpXHV3thwb7WkFfppvm4SZte0zds1FJ+Hr8Xzzc5zMHe6J4Nlay/rP4ewmIW7iFKNBEYb/yWa+ceLrs+TfR672TaAgO6o7iSRofEq5YLdwgrwkMmIawa21FrZ2D9SPao/IwvENzk/xcHu7YAAACAQFXQH6HQnxOrw4dqf0NqeKy1tfIPxYYUZhPJfo9O0AmBW2S36pD2l14kS89fvz6Y1g8gN/FwFnRncMzlLY/hX70FSc/3hKBSbH6C6j8hwlgFKfizav21eS358JJz93leOakJZnGb8XlWvz1UJbwCsnR2VEY8Dz90uIk1l/UqHkA= loic@call"
)

// NewSSHKey returns a fresh Ed25519 public key as an authorized_keys line,
// for a test that needs keys no other holds.
func NewSSHKey(t testing.TB) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}
