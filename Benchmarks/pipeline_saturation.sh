# Sourced by scripts/bench.sh (ingest on 18680 still runs; BENCH, BIN, RUN_DIR, pids, ingest_pid,
# log, die, row, start, wait_ready and cpu_ticks come from there). Sets saturation_notes and
# writes docs/benchmarks/sms-saturation*.
#
# The whole SMS pipeline at fixed offered rates, open loop (issue 15): `switchyard-bench
# sms-open-loop` sends POST /messages on a schedule for BENCH_SATURATION_SECONDS (20) at each
# rate of BENCH_SATURATION_RATES, then waits for the backlog to drain. Per rate: accepted and
# processed per second, the answer's and 202 -> processed latency (p50, p99, p99.9), the deepest
# queue, the drain time, and the CPU each process spent per message (ticks from /proc, over the
# sending and the drain, divided by the messages accepted): ingest, storage, processing,
# notification, RabbitMQ, PostgreSQL (every process of the `postgres` user: other users of the
# server count too) and Redis. Past saturation the queues grow while ingest keeps answering.
log "pipeline: the SMS pipeline at fixed offered rates, open loop, CPU per message per process"
for pid in "${pids[@]}"; do [ "$pid" = "$ingest_pid" ] || kill "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do [ "$pid" = "$ingest_pid" ] || wait "$pid" 2>/dev/null || true; done
pids=("$ingest_pid")
start storage 18691; saturation_storage=$!; start processing 18692; saturation_processing=$!
start notification 18693; saturation_notification=$!
wait_ready 18691; wait_ready 18692; wait_ready 18693
broker_pid=$(pgrep -u rabbitmq -f beam.smp | head -1); redis_pid=$(cat "$RUN_DIR/redis/redis.pid")
postgres_ticks() { local sum=0 pid; for pid in $(pgrep -u postgres); do sum=$((sum + $(cpu_ticks "$pid" 2>/dev/null || echo 0))); done; echo "$sum"; }
all_ticks() {
  echo "$(cpu_ticks "$ingest_pid") $(cpu_ticks "$saturation_storage") $(cpu_ticks "$saturation_processing")" \
       "$(cpu_ticks "$saturation_notification") $(cpu_ticks "$broker_pid") $(postgres_ticks) $(cpu_ticks "$redis_pid")"
}
ticks_per_second=$(getconf CLK_TCK)
mkdir -p docs/benchmarks
saturation_csv=docs/benchmarks/sms-saturation.csv
timeline_csv=docs/benchmarks/sms-saturation-timeline.csv
echo "offered_per_s,sent_per_s,accepted_per_s,processed_per_s,answered_pct,answer_p50_ms,answer_p99_ms,answer_p999_ms,processed_p50_ms,processed_p99_ms,processed_p999_ms,deepest_queue,drain_s,ingest_us,storage_us,processing_us,notification_us,rabbitmq_us,postgres_us,redis_us,total_us" > "$saturation_csv"
echo "offered_per_s,second,accepted,processed,queue_depth" > "$timeline_csv"
saturation_notes=()
for rate in ${BENCH_SATURATION_RATES:-500 1000 2000 3000 4000 5000}; do
  before=($(all_ticks))
  result=$("$BENCH" sms-open-loop --rate "$rate" --seconds "${BENCH_SATURATION_SECONDS:-20}" --timeline "$timeline_csv")
  after=($(all_ticks))
  read -r _ _ accepted_rate _ <<<"$result"
  accepted=$((accepted_rate * ${BENCH_SATURATION_SECONDS:-20}))
  cpu=() total=0
  for i in 0 1 2 3 4 5 6; do
    us=$(( (after[i] - before[i]) * 1000000 / ticks_per_second / (accepted > 0 ? accepted : 1) ))
    cpu+=("$us"); total=$((total + us))
  done
  echo "$result ${cpu[*]} $total" | tr ' ' ',' >> "$saturation_csv"
  saturation_notes+=("$(awk -v r="$result" -v c="${cpu[*]}" -v t="$total" 'BEGIN {
    split(r, f, " "); split(c, u, " ")
    printf "offered %d/s: accepted %d/s, processed %d/s while sending, %s%% answered 202 (p99 %s ms); 202->processed p50 %s ms, p99 %s ms, p99.9 %s ms; deepest queue %d, drained %ss after; CPU/message: ingest %d us, storage %d, processing %d, notification %d, RabbitMQ %d, PostgreSQL %d, Redis %d = %d us",
      f[1], f[3], f[4], f[5], f[7], f[9], f[10], f[11], f[12], f[13], u[1], u[2], u[3], u[4], u[5], u[6], u[7], t }')")
  sleep 2
done
python3 Benchmarks/plot_saturation.py "$saturation_csv" "$timeline_csv" docs/benchmarks
