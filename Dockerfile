# One image for the operator and the runtime: `make docker-build`.
#
# The binary is static (CGO_ENABLED=0: SQLite is pure Go) and reproducible: -trimpath
# drops local paths, -buildvcs=false and an empty build ID keep the checkout out of it,
# so the same sources, VERSION and COMMIT give the same bytes. It runs as the distroless
# nonroot user, with no shell or package manager in the image.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION is `git describe --tags --always --dirty`, COMMIT `git rev-parse HEAD` (the
# Makefile passes both; .git is not in the build context).
ARG VERSION=dev
ARG COMMIT=unknown
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /switchboard .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /switchboard /switchboard
USER 65532:65532
ENTRYPOINT ["/switchboard"]
