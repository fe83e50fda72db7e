# Sourced by scripts/bench.sh after the 100,000-plan feed run (ingest on 18680 and storage on
# 18681 still run; BIN, DURATION, ROUNDS, RUN_DIR, REDIS_PORT, pids, log, die, row, latency,
# wrk_run, wait_ready and cpu_ticks come from there). Sets same_note for the summary.
#
# GET /search and POST /messages req/s while a provider without ETags serves the same
# 10,000-plan document (20 zones a plan, about 17 MB) to a poller every second, next to the
# same routes while that poller is paused, in alternating rounds. An unchanged document should
# cost its download and hash each second: no parse, no batch, no upsert, no cache invalidation.
# The poller is paused by holding its Redis lease (the process keeps running, and keeps its
# broker heartbeats), and resumed by releasing it.
log "events: /search and POST /messages while the same 10,000-plan document (no ETag) is polled every second"
same_dir="$RUN_DIR/bench-feed-same"
same_url="http://127.0.0.1:18691/"
mkdir -p "$same_dir"
python3 Benchmarks/generate_feed.py 10000 20 "$same_dir/same.xml"
python3 scripts/feed_provider.py --port 18691 --samples "$same_dir" --no-etag >/dev/null & pids+=($!)
sleep 0.5
PROVIDER_URL="$same_url" PROVIDER_POLL_SECONDS=1 HTTP_PORT=18685 METRICS_PORT=18685 "$BIN/processing" & same_pid=$!; pids+=($same_pid)
wait_ready 18685

same_redis() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -n 2 "$@"; }
# The poller's lease key: events:provider:<first 16 hex of SHA-256 of PROVIDER_URL>:lease.
same_lease="events:provider:$(printf '%s' "$same_url" | sha256sum | cut -c1-16):lease"
pause_poller() { same_redis SET "$same_lease" bench-paused PX 3600000 >/dev/null; sleep 2; }  # let a poll under way end
resume_poller() { same_redis DEL "$same_lease" >/dev/null; sleep 2; }
unchanged_polls() {
  curl -s http://127.0.0.1:18685/metrics |
    awk '/^switchyard_provider_fetches_total\{outcome="unchanged"\}/ {printf "%d", $NF; found = 1} END {if (!found) print 0}'
}
# The first poll stores the document (its keys are among the 100,000-plan run's, so few rows
# change); from the second on it is unchanged.
for _ in $(seq 600); do [ "$(unchanged_polls)" -ge 1 ] && break; sleep 0.5; done
[ "$(unchanged_polls)" -ge 1 ] || die "the poller of $same_url never saw its document unchanged"

best_quiet_search=0; best_feed_search=0; best_quiet_submit=0; best_feed_submit=0
polls_before=$(unchanged_polls); version_before=$(same_redis GET events:search:version); cpu_before=$(cpu_ticks "$same_pid")
for _ in $(seq "$ROUNDS"); do
  pause_poller
  read -r rps _ < <(latency -s Benchmarks/wrk/search.lua "http://127.0.0.1:18680/search")
  [ "$rps" -gt "$best_quiet_search" ] && best_quiet_search=$rps
  rps=$(wrk_run 64 sms_submit /messages | awk '/Requests\/sec/ {printf "%d", $2}')
  [ "$rps" -gt "$best_quiet_submit" ] && best_quiet_submit=$rps
  resume_poller
  read -r rps _ < <(latency -s Benchmarks/wrk/search.lua "http://127.0.0.1:18680/search")
  [ "$rps" -gt "$best_feed_search" ] && best_feed_search=$rps
  rps=$(wrk_run 64 sms_submit /messages | awk '/Requests\/sec/ {printf "%d", $2}')
  [ "$rps" -gt "$best_feed_submit" ] && best_feed_submit=$rps
  "$SWITCHYARD_ROOT/scripts/servers.sh" rabbitmqctl purge_queue -p switchyard_bench sms.store >/dev/null
done
polls=$(( $(unchanged_polls) - polls_before ))
version_after=$(same_redis GET events:search:version)
cpu_ms_per_poll=$(( ($(cpu_ticks "$same_pid") - cpu_before) * 1000 / $(getconf CLK_TCK) / (polls > 0 ? polls : 1) ))
row "GET /search req/s while the same 10,000-plan document (no ETag) is polled every 1 s, vs poller paused" "$best_feed_search" "$best_quiet_search"
row "POST /messages req/s, 64 connections, while the same document is polled every 1 s, vs poller paused" "$best_feed_submit" "$best_quiet_submit"
same_note="$polls polls found the $(du -m "$same_dir/same.xml" | cut -f1) MB document unchanged while measured, ${cpu_ms_per_poll} ms of processing CPU each; search cache version ${version_before:-0} -> ${version_after:-0}"
kill "$same_pid" 2>/dev/null || true
rm -rf "$same_dir"
