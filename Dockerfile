# syntax=docker/dockerfile:1

# Mobayilo's production image: the `mobayilo` server binary (api, worker,
# migrate, …) plus the `moby` CLI, on a distroless base that runs as nonroot.
#
#   docker build -t mobayilo --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%FT%TZ) .

ARG GO_VERSION=1.26

# The live dialer's Twilio Voice SDK, bundled from the lockfile (make voice-sdk).
FROM node:22 AS voice
WORKDIR /src/web/voice
COPY web/voice/package.json web/voice/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/voice/entry.js ./
RUN npm run --silent build

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# go.mod pins the language version; never let the builder fetch another toolchain.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local

# Dependencies first, so a source change does not re-download modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
COPY --from=voice /src/web/static/vendor/ web/static/vendor/
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mobayilo ./cmd/mobayilo && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/moby ./cmd/moby

# static: no libc needed (CGO_ENABLED=0; SQLite is pure Go), but it ships
# CA certificates for Stripe/Twilio and tzdata.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mobayilo /out/moby /usr/local/bin/
USER nonroot:nonroot
# MOBAYILO_DATA_DIR defaults to .mobayilo under the working directory, which
# nonroot can write to. Production sets DATABASE_URL, so nothing large lands here.
WORKDIR /home/nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mobayilo"]
CMD ["api"]
