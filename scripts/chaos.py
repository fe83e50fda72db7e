#!/usr/bin/env python3
"""`make chaos`: breaks the running pipeline in every way the platform promises to survive,
under a steady load of POST /messages, and prints what each break cost.

The four services (release builds, BIN) run under this script's own small supervisor, on ports
18800-18803, against their own database, vhost and Redis database, so nothing else is touched
except the servers, which it restarts. While a load generator sends a steady rate of messages,
phases follow one another: SIGKILL storage, processing and notification (each is restarted at
once, as Kubernetes would); stop PostgreSQL, Redis and RabbitMQ in turn for a while and start
them again; make the feed provider slow, then broken. For each phase it prints the answers
seen (only 202, and 503 with Retry-After, are allowed) and the seconds until every service
answered /health/ready again. At the end it waits for the pipeline to drain and counts, in
the database, every accepted message: stored, processed, lost (accepted, never stored) and
doubled (stored twice). It exits with 1 when anything was lost or doubled or an answer was
not allowed.
"""
import argparse
import collections
import http.client
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVICES = ["ingest", "storage", "processing", "notification"]
FIRST_PORT = 18800
PROVIDER_PORT = 18810


def log(text):
    print(f"\033[1;34m[chaos]\033[0m {text}", file=sys.stderr, flush=True)


class Supervised:
    """One service, restarted at once whenever it exits, until `stop`."""

    def __init__(self, name, binary, environment, log_folder):
        self.name, self.binary, self.environment = name, binary, environment
        self.log = open(log_folder / f"{name}.log", "ab")
        self.process = None
        self.stopping = threading.Event()
        self.restarts = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.is_set():
            self.process = subprocess.Popen([self.binary], env=self.environment, stdout=self.log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
            self.process.wait()
            if not self.stopping.is_set():
                self.restarts += 1
                time.sleep(0.2)

    def kill(self):
        """SIGKILL, and back only once it is gone (the supervisor then starts a new one)."""
        process = self.process
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self):
        self.stopping.set()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Load:
    """A steady rate of POST /messages from several threads, each answer counted by phase."""

    def __init__(self, rate, threads, run_tag):
        self.rate, self.threads, self.run_tag = rate, threads, run_tag
        self.phase = "start"
        self.lock = threading.Lock()
        self.answers = collections.defaultdict(collections.Counter)  # phase -> answer -> count
        self.accepted = []  # the message texts that got a 202
        self.sent = 0
        self.stopping = threading.Event()
        self.workers = [threading.Thread(target=self.send_loop, args=(n,), daemon=True) for n in range(threads)]

    def start(self):
        for worker in self.workers:
            worker.start()

    def stop(self):
        self.stopping.set()
        for worker in self.workers:
            worker.join(timeout=40)

    def send_loop(self, worker):
        interval = self.threads / self.rate
        next_send = time.monotonic() + random.random() * interval
        connection = None
        n = 0
        while not self.stopping.is_set():
            time.sleep(max(0, next_send - time.monotonic()))
            next_send += interval
            n += 1
            text = f"chaos {self.run_tag} {worker} {n}"
            body = json.dumps({"from": "+1415" + str(random.randint(2000000, 9999999)), "to": "+442071838750",
                               "message": text})
            phase = self.phase
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", FIRST_PORT, timeout=30)
                connection.request("POST", "/messages", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                answer = str(response.status)
                if response.status == 503:
                    answer += " with Retry-After" if response.getheader("Retry-After") else " without Retry-After"
            except (OSError, http.client.HTTPException) as error:
                answer = f"no answer ({type(error).__name__})"
                connection.close()
                connection = None
            with self.lock:
                self.sent += 1
                self.answers[phase][answer] += 1
                if answer == "202":
                    self.accepted.append(text)


def all_ready(timeout):
    """Seconds until every service answers /health/ready with 200, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ready = 0
        for index in range(len(SERVICES)):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", FIRST_PORT + index, timeout=2)
                connection.request("GET", "/health/ready")
                ready += connection.getresponse().status == 200
                connection.close()
            except (OSError, http.client.HTTPException):
                pass
        if ready == len(SERVICES):
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def servers(*arguments):
    subprocess.run(["bash", str(ROOT / "scripts/servers.sh"), *arguments], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def provider_mode(mode):
    connection = http.client.HTTPConnection("127.0.0.1", PROVIDER_PORT, timeout=5)
    connection.request("PUT", "/_mode", mode)
    connection.getresponse().read()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the folder of the release executables")
    parser.add_argument("--rate", type=float, default=200, help="messages per second (default 200)")
    parser.add_argument("--phase-seconds", type=float, default=10, help="how long each phase lasts")
    parser.add_argument("--down-seconds", type=float, default=5, help="how long a server stays stopped")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--run-dir", required=True, type=pathlib.Path)
    arguments = parser.parse_args()

    log_folder = arguments.run_dir / "chaos"
    log_folder.mkdir(parents=True, exist_ok=True)
    provider = subprocess.Popen([sys.executable, str(ROOT / "scripts/feed_provider.py"), "--port", str(PROVIDER_PORT),
                                 "--samples", str(ROOT / "Tests/Fixtures/provider")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    environment = {**os.environ, "DATABASE_URL": arguments.database_url, "AMQP_URL": arguments.amqp_url,
                   "REDIS_URL": arguments.redis_url, "PROVIDER_URL": f"http://127.0.0.1:{PROVIDER_PORT}/",
                   "PROVIDER_POLL_SECONDS": "2", "PROVIDER_TIMEOUT": "5s", "SWIFT_BACKTRACE": "enable=no",
                   "LOG_LEVEL": "warning", "SWITCHYARD_ENV": "development",
                   # Every request comes from 127.0.0.1: the per-client limit would be the only thing measured.
                   "SMS_CLIENT_RATE_LIMIT": "1000000000/60s"}
    services = []
    for index, name in enumerate(SERVICES):
        port = str(FIRST_PORT + index)
        service = Supervised(name, str(pathlib.Path(arguments.bin) / name),
                             {**environment, "HTTP_PORT": port, "METRICS_PORT": port}, log_folder)
        services.append(service)
        service.thread.start()
    by_name = {service.name: service for service in services}
    if all_ready(120) is None:
        sys.exit(f"the services were not ready within 120 s; their output is in {log_folder}")

    load = Load(arguments.rate, threads=16, run_tag=f"{int(time.time())}")
    phases = []  # (name, recovery seconds or None)

    def phase(name, fault, recover=None):
        """`fault` breaks something and returns once it is over (a worker killed, a server
        started again); the recovery time counts from then until every service is ready. A
        fault with `recover` lasts the whole phase and is counted from `recover`."""
        load.phase = name
        log(name)
        started = time.monotonic()
        fault()
        recovery = None if recover else all_ready(120)
        time.sleep(max(0, arguments.phase_seconds - (time.monotonic() - started)))
        if recover:
            recover()
            recovery = all_ready(120)
        phases.append((name, recovery))

    def server_down(server):
        def fault():
            servers("stop", server)
            time.sleep(arguments.down_seconds)
            servers("start", server)
        return fault

    load.start()
    try:
        phase("steady load", lambda: None)
        for worker in ["storage", "processing", "notification"]:
            phase(f"SIGKILL {worker}", by_name[worker].kill)
        phase("PostgreSQL stopped, started", server_down("postgres"))
        phase("Redis stopped, started", server_down("redis"))
        phase("RabbitMQ stopped, started", server_down("rabbitmq"))
        phase("feed provider slow", lambda: provider_mode("slow"), lambda: provider_mode("ok"))
        phase("feed provider broken", lambda: provider_mode("broken"), lambda: provider_mode("ok"))
        load.phase = "after"
    finally:
        load.stop()

    log(f"{len(load.accepted)} accepted of {load.sent} sent; waiting for the pipeline to drain")
    accepted = load.accepted
    deadline = time.monotonic() + 180
    while True:
        stored, processed, doubled = count_in_database(arguments.database_url, accepted)
        if processed == len(accepted) or time.monotonic() > deadline:
            break
        time.sleep(2)
    for service in services:
        service.stop()
    provider.terminate()

    allowed = {"202", "503 with Retry-After"}
    not_allowed = 0
    print(f"\n{'phase':<30} {'ready again after':>18}  answers")
    for name, recovery in phases:
        answers = load.answers[name]
        not_allowed += sum(count for answer, count in answers.items() if answer not in allowed)
        seen = ", ".join(f"{answer}: {count}" for answer, count in sorted(answers.items()))
        print(f"{name:<30} {'not ready' if recovery is None else f'{recovery:.1f} s':>18}  {seen}")
    lost = len(accepted) - stored
    print(f"\nsent {load.sent}, accepted {len(accepted)}, stored {stored}, processed {processed}, "
          f"lost {lost}, doubled {doubled}, answers not allowed {not_allowed}, "
          f"service restarts {sum(service.restarts for service in services)}")
    never_ready = [name for name, recovery in phases if recovery is None]
    if lost or doubled or not_allowed or processed != len(accepted) or never_ready:
        print("FAILED: " + ", ".join(part for part in [
            f"{lost} lost" if lost else "", f"{doubled} doubled" if doubled else "",
            f"{not_allowed} answers other than 202 and 503 with Retry-After" if not_allowed else "",
            f"{len(accepted) - processed} accepted but not processed within 180 s" if processed != len(accepted) else "",
            f"not ready again after: {', '.join(never_ready)}" if never_ready else ""] if part))
        sys.exit(1)


def count_in_database(database_url, accepted):
    """(stored, processed, doubled) for the accepted message texts: each text is unique to one request."""
    script = ("CREATE TEMP TABLE accepted (message text PRIMARY KEY);\nCOPY accepted FROM STDIN;\n"
              + "".join(text + "\n" for text in accepted) + "\\.\n"
              + "SELECT count(DISTINCT a.message) FILTER (WHERE s.id IS NOT NULL),"
              + " count(DISTINCT a.message) FILTER (WHERE s.status = 'processed'),"
              + " count(s.id) - count(DISTINCT s.message)"
              + " FROM accepted a LEFT JOIN sms_messages s ON s.message = a.message;\n")
    output = subprocess.run(["psql", "-Atq", "-v", "ON_ERROR_STOP=1", database_url], input=script,
                            capture_output=True, text=True, check=True).stdout
    stored, processed, doubled = (int(part) for part in output.strip().splitlines()[-1].split("|"))
    return stored, processed, doubled


if __name__ == "__main__":
    main()
