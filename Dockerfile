# One image for the operator and the runtime.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /switchboard .

FROM gcr.io/distroless/static:nonroot
COPY --from=build /switchboard /switchboard
USER 65532:65532
ENTRYPOINT ["/switchboard"]
