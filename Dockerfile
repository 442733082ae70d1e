# Roster: one static binary (cgo SQLite linked in) on distroless.
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t roster .
#   docker run -p 8080:8080 -v roster_data:/data roster

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1

COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
# osusergo/netgo: pure-Go user and DNS lookups, so static glibc never needs NSS at run time.
# sqlite_omit_load_extension: no dlopen in a static binary.
RUN go build -trimpath \
        -tags "osusergo netgo sqlite_omit_load_extension" \
        -ldflags "-s -w -linkmode external -extldflags -static -X main.version=${VERSION}" \
        -o /out/roster . \
 && if ldd /out/roster >/dev/null 2>&1; then echo "roster is not statically linked" >&2; exit 1; fi

# The data directory, owned by distroless's nonroot user (65532): Docker seeds a new named
# volume at /data from it, so the database directory is writable without running as root.
RUN mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/roster /roster
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
ENV ROSTER_DB=/data/roster.db ROSTER_ADDR=:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/roster"]
CMD ["serve"]
