// Command usher is a self-hosted user and access management service.
//
//	usher serve [--addr 127.0.0.1:8080] [--database ./usher.db]
//	usher migrate [status]
//	usher user create|list|show|passwd|block|unblock|suspend|unsuspend|delete|undelete
//	usher token create|list|revoke
//	usher group list|members
//	usher audit tail
//	usher import [--format ndjson|csv] FILE
//	usher export [--format ndjson|csv] [FILE]
//	usher backup FILE, usher restore FILE
//	usher mail test ADDRESS
//	usher keys rotate|prune|list
//	usher config print|check
//	usher health
//	usher version
//
// Every command that touches data takes --database: a file path or
// sqlite:PATH for SQLite, a postgres:// URL for PostgreSQL. Settings come
// from flags, then USHER_* variables, then the --config file. Usage errors
// exit with status 2, other failures with status 1.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	code := m.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
