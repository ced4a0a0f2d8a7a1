#!/usr/bin/env python3
"""Write N synthetic historical survey responses as CSV for `satisfaction import responses`.

Usage: benches/gen_responses_csv.py N [--in-time-order] > responses.csv
In random order (the worst case for the index on submission time), or with --in-time-order as
another survey tool exports its history: response numbers in order, submissions following them.
One year (2025-12 to 2026-11, times in UTC: no local time falls in a clock change) over 8 directions and the six channels, scores skewed high (a city
reporting about 9 out of 10), weights 1/pi for stratum rates between 0.1 and 1, drivers on most rows.
"""
import random
import sys
from datetime import datetime, timedelta

in_time_order = "--in-time-order" in sys.argv
args = [a for a in sys.argv[1:] if a != "--in-time-order"]
n = int(args[0]) if len(args) > 0 else 100_000
rng = random.Random(2026)
jitter = random.Random(2027)
directions = ["TP", "ENV", "URB", "VC", "GEN", "COM", "FIN", "SEC"]
channels = ["phone"] * 86 + ["web_form"] * 9 + ["email"] * 3 + ["social_media"] * 2 + ["counter", "portal"]
rates = {c: r for c, r in [("phone", 0.1), ("web_form", 0.25), ("email", 0.5), ("social_media", 1.0),
                           ("counter", 1.0), ("portal", 0.5)]}
start = datetime(2025, 12, 1)
scores = list(range(11))
score_weights = [1, 0, 1, 1, 1, 3, 3, 6, 14, 25, 45]
out = sys.stdout
out.write("response_id,agency_responsible,channel,weight,score,submitted_at,timeliness,courtesy,competence,"
          "clarity,fairness,completion\n")
for i in range(n):
    direction = rng.choice(directions)
    channel = rng.choice(channels)
    score = rng.choices(scores, score_weights)[0]
    when = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
    if in_time_order:
        minutes = 365 * 24 * 60 * i // n + jitter.randrange(-360, 360)
        when = start + timedelta(minutes=min(max(minutes, 0), 365 * 24 * 60 - 1))
    drivers = ["" if rng.random() < 0.1 else str(max(0, min(10, score + rng.randrange(-2, 2)))) for _ in range(5)]
    out.write(f"H-{i:07d},{direction},{channel},{1 / rates[channel]:.4f},{score},{when:%Y-%m-%dT%H:%M:00Z},"
              f"{','.join(drivers)},complete\n")
