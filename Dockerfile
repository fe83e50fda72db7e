# One image for every Switchyard executable; the Deployment or compose service picks the
# command (ingest, storage, processing, notification, switchyard).
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends librabbitmq-dev libhiredis-dev libpq-dev libqpdf-dev libspng-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Shared Shared
COPY Services Services
COPY Benchmarks Benchmarks
COPY Tests Tests
RUN swift build -c release --static-swift-stdlib \
    && mkdir /out && cp "$(swift build -c release --show-bin-path)"/{ingest,storage,processing,notification,switchyard} /out/ \
    && cp -r "$(swift build -c release --show-bin-path)"/*.resources /out/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends librabbitmq4 libhiredis0.14 libpq5 libqpdf29 libspng0 libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 switchyard
COPY --from=build /out/ /usr/local/bin/
COPY openapi.yaml /usr/local/share/switchyard/openapi.yaml
USER 10001
# A crash ends the process at once, so the orchestrator restarts it, rather than waiting while
# the Swift runtime's backtracer pauses every thread (up to 16 rounds of 2 s) and symbolicates.
# The runtime stage copies in no swift-backtrace helper, without which the backtracer cannot
# start; the setting keeps crashes prompt if that changes. The fatal error's message remains.
ENV OPENAPI_PATH=/usr/local/share/switchyard/openapi.yaml SWIFT_BACKTRACE=enable=no
EXPOSE 8080 9101 9102 9103
CMD ["ingest"]
