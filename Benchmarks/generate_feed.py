#!/usr/bin/env python3
"""Writes a provider document of N plans with Z zones each (for `make bench`), streaming to disk."""
import sys

plans, zones, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, "w") as out:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<planList version="1.0"><output>\n')
    for n in range(plans):
        day = 1 + n % 28
        out.write(f'<base_plan base_plan_id="bench{n // 10}" sell_mode="online" title="Bench event {n}">'
                  f'<plan plan_start_date="2031-02-{day:02d}T20:00:00" plan_end_date="2031-02-{day:02d}T22:00:00" '
                  f'plan_id="{n}" sell_from="2031-01-01T00:00:00" sell_to="2031-02-{day:02d}T19:00:00" sold_out="false">')
        for z in range(zones):
            out.write(f'<zone zone_id="{z}" capacity="{50 + z}" price="{10 + (n + z) % 90}.00" name="Zone {z}" numbered="true"/>')
        out.write('</plan></base_plan>\n')
    out.write('</output></planList>\n')
