# One image for every Switchyard executable; the Deployment or compose service picks the
# command (ingest, storage, processing, notification, switchyard).
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends librabbitmq-dev libhiredis-dev libpq-dev pkg-config \
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
RUN apt-get update && apt-get install -y --no-install-recommends librabbitmq4 libhiredis0.14 libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 switchyard
COPY --from=build /out/ /usr/local/bin/
COPY openapi.yaml /usr/local/share/switchyard/openapi.yaml
USER 10001
ENV OPENAPI_PATH=/usr/local/share/switchyard/openapi.yaml
EXPOSE 8080 9101 9102 9103
CMD ["ingest"]
