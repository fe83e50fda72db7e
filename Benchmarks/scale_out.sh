# Sourced by scripts/bench.sh (ingest on 18680 still runs; BENCH, BIN, pids, ingest_pid, log, die,
# row, start and wait_ready come from there). Sets scale_out_note.
# Scale-out is competing consumers. Two measurements, each with one and then two replicas of
# every worker (storage, processing, notification) against the one ingest:
# - steady: 32 closed-loop clients for BENCH_SCALE_OUT_SECONDS; on two cores ingest is the limit
#   and the queues stay near empty, so this shows what replicas cost, not what they add;
# - backlog: the same submissions with no worker running (the queue fills), then the workers
#   start and drain it: messages per second from the first stored to the last processed, which
#   is the workers' own capacity and what a KEDA scale-out is for.
log "scale-out: the SMS pipeline with one, then two replicas of each worker"
# Only this section's workers may consume: stop what earlier sections left running (not ingest).
stop_workers() {
  for pid in "${pids[@]}"; do [ "$pid" = "$ingest_pid" ] || kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do [ "$pid" = "$ingest_pid" ] || wait "$pid" 2>/dev/null || true; done
  pids=("$ingest_pid")
}
stop_workers
scale_out_seconds="${BENCH_SCALE_OUT_SECONDS:-30}"
# start_replicas N: N replicas of each worker, replica r on ports 18692 + 3 (r - 1) ...
start_replicas() {
  local port=18692
  for _ in $(seq "$1"); do
    start storage "$port"; start processing $((port + 1)); start notification $((port + 2))
    wait_ready "$port"; wait_ready $((port + 1)); wait_ready $((port + 2))
    port=$((port + 3))
  done
}
steady() { "$BENCH" sms-pipeline --seconds "$scale_out_seconds" --concurrency 32; }
# backlog N: submits with no worker running, then starts N replicas of each and waits for the
# drain; the result is in $RUN_DIR/scale-out-backlog. Not run in a subshell: the replicas it
# starts must join this shell's pids, so that the next stop_workers stops them.
backlog() {
  local marker="$RUN_DIR/scale-out-submitted" result
  rm -f "$marker"
  stop_workers
  "$BENCH" sms-pipeline --seconds "$scale_out_seconds" --concurrency 32 --submitted-marker "$marker" > "$RUN_DIR/scale-out-backlog" &
  local bench_pid=$!
  while [ ! -e "$marker" ]; do kill -0 "$bench_pid" 2>/dev/null || die "the backlog run ended early"; sleep 0.5; done
  start_replicas "$1"
  wait "$bench_pid" || die "the backlog run failed"
}
start_replicas 1
read -r one_count _ one_processed _ one_p99 one_deepest _ < <(steady)
stop_workers; start_replicas 2
read -r two_count _ two_processed _ two_p99 two_deepest _ < <(steady)
backlog 1; read -r one_backlog _ _ _ _ _ one_drain < "$RUN_DIR/scale-out-backlog"
backlog 2; read -r two_backlog _ _ _ _ _ two_drain < "$RUN_DIR/scale-out-backlog"
stop_workers
row "SMS pipeline, steady ${scale_out_seconds}s, processed msg/s: two replicas of each worker vs one" "$two_processed" "$one_processed"
row "SMS pipeline, a backlog drained, msg/s: two replicas of each worker vs one" "$two_drain" "$one_drain"
scale_out_note="steady (32 clients): one replica each $one_count messages, processed $one_processed/s, p99 ${one_p99} ms, deepest queue $one_deepest; two replicas each $two_count messages, processed $two_processed/s, p99 ${two_p99} ms, deepest queue $two_deepest. Backlog: $one_backlog messages drained at $one_drain/s by one replica each, $two_backlog at $two_drain/s by two"
