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
# Workers scale out as competing consumers of their queues, as KEDA scales them in Kubernetes:
# STORAGE_REPLICAS, PROCESSING_REPLICAS and NOTIFICATION_REPLICAS (default WORKER_REPLICAS, 1)
# start that many of each. Replica n > 1 serves health and metrics on its service's port + 10(n-1)
# (storage 9101, 9111, ...). The feed poller runs on one processing replica at a time (its lease).
processes=("feed-provider=python3 $SWITCHYARD_ROOT/scripts/feed_provider.py --port 8090 --samples $SWITCHYARD_ROOT/Tests/Fixtures/provider"
           "ingest=$BIN/ingest")
worker_port=9101
for worker in storage processing notification; do
  count_variable="$(tr a-z A-Z <<<"$worker")_REPLICAS"
  count="${!count_variable:-${WORKER_REPLICAS:-1}}"
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "$count_variable must be a number of replicas from 1 to 99 (is: $count)"
  for replica in $(seq "$count"); do
    name=$worker; [ "$count" -eq 1 ] || name="$worker-$replica"
    processes+=("$name=env METRICS_PORT=$((worker_port + 10 * (replica - 1))) $BIN/$worker")
  done
  worker_port=$((worker_port + 1))
done
python3 "$SWITCHYARD_ROOT/scripts/supervise.py" "${processes[@]}"
