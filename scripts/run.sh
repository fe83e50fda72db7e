#!/usr/bin/env bash
# `make run`: everything a fresh machine needs, then every Switchyard process on loopback.
# Ctrl-C stops the services, the feed provider, and the servers this run started (the SMTP sink among them).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"

"$SWITCHYARD_ROOT/scripts/install-deps.sh"
STARTED_FILE="$(mktemp)"
export STARTED_FILE
cleanup() {
  trap - EXIT INT TERM
  # Only what this run started: servers that were already running stay up. (An empty list
  # must not reach `servers.sh stop`, which would then stop every server.)
  local started
  started=$(cat "$STARTED_FILE")
  # shellcheck disable=SC2086
  [ -z "$started" ] || "$SWITCHYARD_ROOT/scripts/servers.sh" stop $started 2>/dev/null || true
  rm -f "$STARTED_FILE"
}
trap cleanup EXIT INT TERM
"$SWITCHYARD_ROOT/scripts/servers.sh" start

log "building (release)"
swift build -c release
BIN="$(swift build -c release --show-bin-path)"
"$BIN/switchyard" migrate

export PROVIDER_URL="${PROVIDER_URL:-http://127.0.0.1:8090/}"
export PROVIDER_POLL_SECONDS="${PROVIDER_POLL_SECONDS:-20}"
# Callbacks to receivers on this machine (the acceptance set-up's): loopback only, and only
# when OUTBOUND_ALLOW_CIDRS is not set at all (set it empty to refuse loopback too).
export OUTBOUND_ALLOW_CIDRS="${OUTBOUND_ALLOW_CIDRS-127.0.0.1/32}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${HTTP_PORT:-8080}}"
mkdir -p "$RUN_DIR/blobs"
log "ingest on http://127.0.0.1:${HTTP_PORT:-8080}; mails land in $RUN_DIR/mail; Ctrl-C stops everything"
python3 "$SWITCHYARD_ROOT/scripts/supervise.py" \
  "feed-provider=python3 $SWITCHYARD_ROOT/scripts/feed_provider.py --port 8090 --samples $SWITCHYARD_ROOT/Tests/Fixtures/provider" \
  "ingest=$BIN/ingest" "storage=$BIN/storage" "processing=$BIN/processing" "notification=$BIN/notification"
