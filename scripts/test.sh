#!/usr/bin/env bash
# `make test`: the same set-up as `make run` (packages, the three servers), then the suite.
# Tests talk to real PostgreSQL, Redis and RabbitMQ on loopback; nothing is mocked.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"

"$SWITCHYARD_ROOT/scripts/install-deps.sh"
"$SWITCHYARD_ROOT/scripts/servers.sh" start
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://switchyard@127.0.0.1:$PG_PORT/switchyard_test}"
export TEST_AMQP_URL="${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:$AMQP_PORT/switchyard_test}"
export TEST_S3_ENDPOINT="${TEST_S3_ENDPOINT:-http://127.0.0.1:$S3_PORT}"

log "building"
# The executables too: the end-to-end tests start them as real processes.
swift build --build-tests
export SWITCHYARD_BIN_DIR="$(swift build --show-bin-path)"
# The end-to-end suites start the services as processes; stop any a run left behind.
stop_services() {
  pkill -f "$SWITCHYARD_BIN_DIR/(ingest|storage|processing|notification)( |$)" 2>/dev/null || true
  # The SMTP sinks suites start for themselves (the local run's own is left alone).
  pkill -9 -f "scripts/mail_sink.py --port 0 --folder .*mail-sink-" 2>/dev/null || true
}
trap stop_services EXIT
# And before: a service left by an earlier run (a filtered `swift test`, say) would still hold
# its port, and the suite would talk to that old binary instead of the one just built.
stop_services
# Runs one phase; when it fails, its failures are printed again at the very end, where a CI
# that keeps only the tail of the output still shows them.
phase_output="$(mktemp)"
trap 'stop_services; rm -f "$phase_output"' EXIT
run_phase() {
  local name=$1 status
  shift
  set +e
  swift test --skip-build "$@" 2>&1 | tee "$phase_output"
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] && return
  echo
  log "$name failed (exit $status); its failures, as printed above:"
  # Failed tests and their issues (Swift Testing marks both with ✘), and crashes; kept short,
  # since what follows (the servers stopping) also lands in the tail.
  grep -E "✘|Fatal error|Crash:|error: Exited" "$phase_output" | grep -v "✘ Test run with" | cut -c1-400 | head -20
  exit "$status"
}
if [ $# -gt 0 ]; then
  log "testing: $*"
  swift test --skip-build "$@"
  exit
fi
# The heavy suites (real files of up to 100 MiB through a debug build, an S3 server in Python,
# SMTP sinks, the file checkers' thread pool) run after the rest, not beside it: on two cores
# their load alone made the timing-bounded tests of other suites (deadlines, leases, pools) fail.
heavy='^(InvoicesTests\.InvoicesPipelineTests|PlatformTests\.(S3|BlobStoreContract)|MailTests\.|DocumentChecksTests\.)'
log "testing (every suite but FaultTests and the heavy ones, in parallel)"
run_phase "the parallel phase" --skip '^FaultTests\.' --skip "$heavy"
stop_services
log "testing the heavy suites (invoice pipeline, blob stores, mail, file checks)"
run_phase "the heavy suites" --filter "$heavy"
stop_services
# FaultTests stop and restart the servers every other suite talks to, so they run alone, one
# test at a time.
log "testing FaultTests (restarts PostgreSQL, Redis and RabbitMQ under load; broker alarms)"
run_phase "FaultTests" --no-parallel --filter '^FaultTests\.'
stop_services
# The HTTP API against its contract: schemathesis generates requests for every operation of the
# openapi.yaml ingest serves and fails on a 5xx or a response the contract does not describe.
log "testing the API against openapi.yaml (schemathesis)"
bash scripts/schemathesis.sh
