#!/usr/bin/env python3
"""Plots the SMS pipeline's open-loop sweep (Benchmarks/pipeline_saturation.sh writes the CSVs):
throughput and latency against offered load, and queue depth over time at each rate.
Usage: plot_saturation.py <summary.csv> <timeline.csv> <folder>"""
import collections
import csv
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")  # no display: the bench runs headless
import matplotlib.pyplot as plt

summary_path, timeline_path, folder = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
with open(summary_path) as f:
    rows = list(csv.DictReader(f))
offered = [int(r["offered_per_s"]) for r in rows]

fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
ax.plot(offered, offered, color="grey", linestyle="--", linewidth=0.8, label="offered")
ax.plot(offered, [float(r["accepted_per_s"]) for r in rows], marker="o", label="accepted (202) per second")
ax.plot(offered, [float(r["processed_per_s"]) for r in rows], marker="o", label="processed per second, while sending")
ax.set_xlabel("offered rate (POST /messages per second, open loop)")
ax.set_ylabel("messages per second")
ax.set_title("SMS pipeline throughput against offered load (2 cores, everything on loopback)")
ax.grid(True, alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(folder / "sms-saturation-throughput.png")

fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
for column, label in (("processed_p50_ms", "202 -> processed p50"), ("processed_p99_ms", "p99"),
                      ("processed_p999_ms", "p99.9"), ("answer_p99_ms", "answer (202) p99")):
    ax.plot(offered, [max(float(r[column]), 0.1) for r in rows], marker="o", label=label)
ax.set_yscale("log")
ax.set_xlabel("offered rate (POST /messages per second, open loop)")
ax.set_ylabel("latency (ms)")
ax.set_title("SMS pipeline latency against offered load")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(folder / "sms-saturation-latency.png")

depths = collections.defaultdict(list)
with open(timeline_path) as f:
    for r in csv.DictReader(f):
        if r["queue_depth"]:
            depths[int(r["offered_per_s"])].append((int(r["second"]), int(r["queue_depth"])))
fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
for rate in sorted(depths):
    seconds, values = zip(*sorted(depths[rate]))
    ax.plot(seconds, values, label=f"{rate}/s")
ax.set_xlabel("seconds since the load started (it stops at the end of the sending window)")
ax.set_ylabel("messages accepted, not yet processed")
ax.set_title("SMS queue depth over time at each offered rate")
ax.grid(True, alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(folder / "sms-saturation-queue.png")
