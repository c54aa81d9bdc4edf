// Command usher is a self-hosted user and access management service.
//
//	usher serve [--addr 127.0.0.1:8080] [--database ./usher.db]
//	usher migrate
//	usher user create --username U --email E [--password P] [--name N] [--admin]
//	usher token create --user U [--name N] [--scope S]... [--expires 720h]
//	usher import [--format ndjson|csv] FILE
//	usher export [--format ndjson|csv] [FILE]
//	usher jwt rotate
//	usher version
//
// Every command that touches data takes --database: a file path or
// sqlite:PATH for SQLite, a postgres:// URL for PostgreSQL.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "usher:", err)
		os.Exit(1)
	}
}
