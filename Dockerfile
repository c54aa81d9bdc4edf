# syntax=docker/dockerfile:1
# usher in a container: a static binary on a distroless base, run as an
# unprivileged user, its database and key in the /data volume.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t usher .
#   docker run -d -p 8080:8080 -v usher-data:/data usher
#
# docs/operations.md describes the settings, backups and upgrades.

FROM golang:1.26-alpine AS build
WORKDIR /src
# The modules first, so that a change of source reuses their layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version usher version prints; .git is not in the build context.
ARG VERSION=devel
# SQLite is pure Go (modernc.org/sqlite): no cgo, so the binary is static.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/usher ./cmd/usher \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/usher /usr/local/bin/usher
# The volume's mount point belongs to the user usher runs as, so that a
# fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Every flag has a USHER_* variable; these make the container's defaults:
# listen on every interface, keep the database (and its key, usher.db.key)
# in the volume.
ENV USHER_ADDR=0.0.0.0:8080 \
    USHER_DATABASE_URL=/data/usher.db
VOLUME ["/data"]
EXPOSE 8080
# usher health asks the running server's /readyz (no curl or wget in the
# image); it reads USHER_ADDR as serve does.
HEALTHCHECK --interval=30s --timeout=6s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/usher", "health"]
ENTRYPOINT ["/usr/local/bin/usher"]
CMD ["serve"]
