#!/usr/bin/env python3
"""Runs every Switchyard process, restarts one that dies, and stops them all on Ctrl-C.

Usage: supervise.py NAME=COMMAND [NAME=COMMAND ...]
Each line a process prints is prefixed with its name. A process that exits is restarted
after a growing delay (0.5 s doubling to 10 s, reset after a minute of uptime). SIGINT or
SIGTERM sends SIGTERM to every child, waits up to 12 s, then SIGKILLs what is left.

Children get SWIFT_BACKTRACE=enable=no unless it is already set: a crashed service then
ends at once and is restarted. With the Swift runtime's backtracer on (its default on
Linux), the crashing process first pauses every other thread, waiting up to 16 rounds of
2 s (32 s) for threads that cannot take the pause signal, then symbolicates, and only then
lets it die. `threads=crashed` or `symbolicate=off` do not skip the pause.
The runtime still prints the fatal error's message (and, for a Swift runtime error, a
short unsymbolicated stack trace) without the backtracer.
"""
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

COLORS = ["36", "35", "33", "32", "34", "31", "96", "95"]
stopping = threading.Event()
CHILD_ENVIRONMENT = {**os.environ, "SWIFT_BACKTRACE": os.environ.get("SWIFT_BACKTRACE", "enable=no")}


class Child:
    def __init__(self, index, name, command):
        self.name, self.command = name, command
        self.prefix = f"\033[{COLORS[index % len(COLORS)]}m{name:>13}\033[0m | "
        self.process = None
        self.delay = 0.5

    def pump(self, stream):
        for line in iter(stream.readline, b""):
            sys.stdout.write(self.prefix + line.decode("utf-8", "replace"))
            sys.stdout.flush()

    def run(self):
        while not stopping.is_set():
            started = time.monotonic()
            self.process = subprocess.Popen(shlex.split(self.command), stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            env=CHILD_ENVIRONMENT)
            pump = threading.Thread(target=self.pump, args=(self.process.stdout,), daemon=True)
            pump.start()
            code = self.process.wait()
            pump.join(timeout=1)
            if stopping.is_set():
                break
            if time.monotonic() - started > 60:
                self.delay = 0.5
            sys.stdout.write(f"{self.prefix}exited with {code}; restarting in {self.delay:.1f} s\n")
            sys.stdout.flush()
            stopping.wait(self.delay)
            self.delay = min(self.delay * 2, 10)


def main():
    children = []
    for index, spec in enumerate(sys.argv[1:]):
        name, _, command = spec.partition("=")
        children.append(Child(index, name, command))
    threads = [threading.Thread(target=child.run, daemon=True) for child in children]

    def stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for thread in threads:
        thread.start()
    while not stopping.is_set():
        stopping.wait(0.5)
    print("\nstopping every process ...", flush=True)
    for child in children:
        if child.process and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 12
    for child in children:
        if child.process:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=2)


if __name__ == "__main__":
    main()
