#!/usr/bin/env python3
"""Writes the peer benchmark's /search windows, one query string a line (for `make bench`).

600 start days from 2021-02-01, each with 20 random spans of 1 to 200 days, shuffled: 12,000
windows. Seeded, so every run asks the same windows in the same order. The contract takes
date-times only (a bare date is a 400), so half the windows are written with `Z` and half
without an offset (UTC too), the two forms the contract allows.
"""
import random
import sys
from datetime import date, timedelta

path = sys.argv[1]
rng = random.Random(2021)
windows = []
for day in range(600):
    start = date(2021, 2, 1) + timedelta(days=day)
    for _ in range(20):
        end = start + timedelta(days=rng.randint(1, 200))
        suffix = "Z" if rng.random() < 0.5 else ""
        windows.append(f"starts_at={start.isoformat()}T00:00:00{suffix}&ends_at={end.isoformat()}T00:00:00{suffix}")
rng.shuffle(windows)
with open(path, "w") as out:
    out.write("\n".join(windows) + "\n")
