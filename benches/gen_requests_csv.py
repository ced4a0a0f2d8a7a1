#!/usr/bin/env python3
"""Write N synthetic closed service requests as CSV (semicolon-delimited, BOM, as French Excel).

Usage: benches/gen_requests_csv.py N [DAYS] [--in-time-order] > requests.csv
Requests close over the DAYS days (default 320) before 2026-11-20T12:00-05:00, in random order
(the worst case for the database's indexes on closing time), or with --in-time-order as a CRM
exports them: request numbers in order, closings following them within a few hours.
Realistic mix: 8 directions, the six channels in Lévis' proportions, ~70 % with an e-mail,
~20 % with a phone only, the rest with no contact; 0.5 % of rows are deliberately bad.
"""
import random
import sys
from datetime import datetime, timedelta, timezone

in_time_order = "--in-time-order" in sys.argv
args = [a for a in sys.argv[1:] if a != "--in-time-order"]
n = int(args[0]) if len(args) > 0 else 1_000_000
days = int(args[1]) if len(args) > 1 else 320
rng = random.Random(311)
jitter = random.Random(312)
directions = ["TP", "ENV", "URB", "VC", "GEN", "COM", "FIN", "SEC"]
channels = ["phone"] * 86 + ["web_form"] * 9 + ["email"] * 3 + ["social_media"] * 2 + ["counter", "portal"]
end = datetime(2026, 11, 20, 12, tzinfo=timezone(timedelta(hours=-5)))
out = sys.stdout
out.write("\ufeffservice_request_id;status;service_code;service_name;agency_responsible;channel;"
          "requested_datetime;closed_datetime;contact_email;contact_phone;locale\r\n")
for i in range(n):
    closed = end - timedelta(minutes=rng.randrange(0, 60 * 24 * days))
    if in_time_order:
        minutes = 60 * 24 * days * i // n + jitter.randrange(-360, 360)
        closed = end - timedelta(minutes=60 * 24 * days) + timedelta(minutes=min(max(minutes, 0), 60 * 24 * days))
    opened = closed - timedelta(hours=rng.randrange(1, 24 * 20))
    kind = rng.random()
    email = f"citoyen{rng.randrange(400_000)}@exemple.ca" if kind < 0.7 else ""
    phone = f"418 {rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}" if 0.7 <= kind < 0.9 else ""
    channel = rng.choice(channels)
    closed_text = closed.isoformat()
    if rng.random() < 0.005:
        closed_text = "pas une date"
    out.write(f"2026-{i:07d};closed;S{rng.randrange(120):03d};Service {rng.randrange(120)};"
              f"{rng.choice(directions)};{channel};{opened.isoformat()};{closed_text};{email};{phone};"
              f"{'en' if rng.random() < 0.08 else 'fr'}\r\n")
