#!/usr/bin/env bash
# Property-based tests of the HTTP API against its contract: schemathesis reads openapi.yaml as
# ingest serves it (GET /openapi.yaml), generates requests for every operation, and fails on any
# 5xx (not_a_server_error) or any response the contract does not describe (status code, headers,
# content type, body schema). Run by scripts/test.sh after the Swift tests; alone:
# `bash scripts/schemathesis.sh` (the servers running, the executables built).
#
# ingest runs on loopback with dev auth against its own database, vhost and Redis database, so it
# can run beside `make run` and the tests. Each caller role gets its own pass, since the header is
# fixed for a run: senders' routes as `sender 1`, consumers' as `consumer 2`, the rest as
# `operator ops`. SCHEMATHESIS_MAX_EXAMPLES (default 100) bounds the examples per operation; on
# two cores the whole step took 40 s with a debug build (about 4,000 requests).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWITCHYARD_ROOT"

python3 -c 'import schemathesis' 2>/dev/null || bash scripts/install-deps.sh
bin_dir="${SWITCHYARD_BIN_DIR:-$(swift build --show-bin-path)}"
[ -x "$bin_dir/ingest" ] || die "$bin_dir/ingest is not built (make build)"

port=$((8090 + ${TEST_PORT_OFFSET:-0} + 7))
database="${SCHEMATHESIS_DATABASE:-switchyard_schemathesis}"
vhost="${SCHEMATHESIS_VHOST:-switchyard_schemathesis}"
psql -h 127.0.0.1 -p "$PG_PORT" -U switchyard -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 ||
  createdb -h 127.0.0.1 -p "$PG_PORT" -U switchyard "$database"
existing_vhosts=$(bash scripts/servers.sh rabbitmqctl list_vhosts --quiet)
for v in "$vhost" "${vhost}_events"; do
  grep -qx "$v" <<<"$existing_vhosts" && continue
  bash scripts/servers.sh rabbitmqctl add_vhost "$v" >/dev/null
  bash scripts/servers.sh rabbitmqctl set_permissions -p "$v" guest '.*' '.*' '.*' >/dev/null
done

work="$(mktemp -d)"
ingest_pid=""
cleanup() {
  [ -z "$ingest_pid" ] || { kill "$ingest_pid" 2>/dev/null || true; wait "$ingest_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

log "starting ingest on 127.0.0.1:$port for schemathesis"
DATABASE_URL="postgres://switchyard@127.0.0.1:$PG_PORT/$database" \
AMQP_URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT/$vhost" \
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/${SCHEMATHESIS_REDIS_DB:-5}" \
HTTP_PORT="$port" AUTH_MODE=dev SWITCHYARD_ENV=development LOG_LEVEL=error SWIFT_BACKTRACE=enable=no \
BLOB_STORE="file://$work/blobs" OPENAPI_PATH="$SWITCHYARD_ROOT/openapi.yaml" \
PUBLIC_BASE_URL="http://127.0.0.1:$port" PROVIDER_URL="http://127.0.0.1:9/none" PROVIDER_POLL_SECONDS=86400 \
SMS_RATE_LIMIT=1000000/60s SMS_CLIENT_RATE_LIMIT=1000000/60s SMS_MEDIA_CLIENT_RATE_LIMIT=1000000/60s \
  "$bin_dir/ingest" >"$work/ingest.log" 2>&1 &
ingest_pid=$!
for _ in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null && break
  kill -0 "$ingest_pid" 2>/dev/null || { cat "$work/ingest.log"; die "ingest exited before it was ready"; }
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" || { cat "$work/ingest.log"; die "ingest never became ready"; }

# Python 3.11 before 3.11.8 can raise a spurious "SystemError: AST constructor recursion depth
# mismatch" while hypothesis parses source to describe a strategy (CPython issue 106905): that
# pass reports a Runtime Error that says nothing about the API. Such a pass, with no failure of
# the API in it, runs once more; any other error or failure stands.
run_pass() {
  local output="$work/pass.log" status
  set +e
  run_schemathesis "$@" 2>&1 | tee "$output"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ] && grep -q "AST constructor recursion depth mismatch" "$output" &&
     ! grep -q "^=* FAILURES =*$" "$output"; then
    log "schemathesis hit CPython issue 106905 (not a finding); running that pass again"
    run_schemathesis "$@"
    return
  fi
  return "$status"
}
run_schemathesis() {
  local who=$1
  shift
  log "schemathesis as '$who'"
  # From the temporary folder: schemathesis keeps a cache (.schemathesis/) in its working directory.
  (cd "$work" && schemathesis run "http://127.0.0.1:$port/openapi.yaml" --url "http://127.0.0.1:$port" \
    -H "Authorization: $who" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" --generation-deterministic \
    --request-timeout 20 --workers 2 --no-color "$@")
}
status=0
run_pass "sender 1" --include-path-regex '^/api/sender/' || status=1
run_pass "consumer 2" --include-path-regex '^/api/consumer/' || status=1
run_pass "operator ops" --exclude-path-regex '^/api/(sender|consumer)/' || status=1
if ! kill -0 "$ingest_pid" 2>/dev/null; then
  cat "$work/ingest.log"
  die "ingest died during the run"
fi
[ "$status" -eq 0 ] || { tail -50 "$work/ingest.log"; die "schemathesis found responses outside the contract (above)"; }
log "schemathesis: every operation's responses match openapi.yaml, no 5xx"
