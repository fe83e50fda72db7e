#!/usr/bin/env python3
"""Plots /search latency percentiles against the offered rate from the open-loop sweep's CSV
(scripts/bench.sh writes it): usage plot_open_loop.py <csv> <png>."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # no display: the bench runs headless
import matplotlib.pyplot as plt

source, target = sys.argv[1], sys.argv[2]
with open(source) as f:
    rows = list(csv.DictReader(f))
rates = [int(r["offered_per_s"]) for r in rows]
fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
for column, label in (("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99")):
    ax.plot(rates, [float(r[column]) for r in rows], marker="o", label=label)
for rate, row in zip(rates, rows):
    answered = float(row["answered_pct"])
    if answered < 100:
        ax.annotate(f"{answered:.0f}% answered", (rate, float(row["p99_ms"])), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8)
ax.axhline(50, color="grey", linestyle="--", linewidth=0.8, label="goal at 2,000/s: p99 < 50 ms")
ax.set_yscale("log")
ax.set_xlabel("offered rate (requests/s, open loop)")
ax.set_ylabel("latency from planned send (ms)")
ax.set_title("GET /search, 12,000 distinct windows over 1,000,000 events, cold cache each point")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(target)
