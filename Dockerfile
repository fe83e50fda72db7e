# One image for every Switchyard executable; the Deployment or compose service picks the
# command (ingest, storage, processing, notification, switchyard).

# Build: the toolchain the project is developed with, and the -dev packages of the C libraries.
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends librabbitmq-dev libhiredis-dev libpq-dev libqpdf-dev libspng-dev libcurl4-openssl-dev libxml2-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Shared Shared
COPY Services Services
COPY Benchmarks Benchmarks
COPY Tests Tests
# The Swift runtime and Foundation linked in, so the runtime stage needs no toolchain.
RUN swift build -c release --static-swift-stdlib \
    && mkdir /out && cp "$(swift build -c release --show-bin-path)"/{ingest,storage,processing,notification,switchyard} /out/ \
    && cp -r "$(swift build -c release --show-bin-path)"/*.resources /out/

# Runtime: only the shared libraries the executables load, each named by its Debian package.
# scripts/check_dockerfile_libraries.py (run by `make lint`, so CI) reads this list and fails
# when a built executable needs a library none of these provides. curl is for HEALTHCHECK.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends librabbitmq4 libhiredis0.14 libpq5 libqpdf29 libspng0 libcurl4 libxml2 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 switchyard && useradd --system --uid 10001 --gid 10001 --no-create-home switchyard
COPY --from=build /out/ /usr/local/bin/
COPY openapi.yaml /usr/local/share/switchyard/openapi.yaml
USER 10001:10001
# A crash ends the process at once, so the orchestrator restarts it, rather than waiting while
# the Swift runtime's backtracer pauses every thread (up to 16 rounds of 2 s) and symbolicates.
# The runtime stage copies in no swift-backtrace helper, without which the backtracer cannot
# start; the setting keeps crashes prompt if that changes. The fatal error's message remains.
ENV OPENAPI_PATH=/usr/local/share/switchyard/openapi.yaml SWIFT_BACKTRACE=enable=no
EXPOSE 8080 9101 9102 9103
# Liveness on the port each service serves its health routes on: a worker's METRICS_PORT,
# ingest's HTTP_PORT (Kubernetes uses its own probes; this is for docker and compose).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${METRICS_PORT:-${HTTP_PORT:-8080}}/health/live" || exit 1
CMD ["ingest"]
