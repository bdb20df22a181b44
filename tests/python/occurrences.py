"""The occurrences of an iCalendar file as Python's icalendar and
recurring-ical-events read them, for comparison with the `ical` reader.

Usage: occurrences.py FILE ZONE FROM TO
Prints a JSON list of [start, end, title] (UTC, ISO 8601, Z), sorted, for each
occurrence whose start is in [FROM, TO]. Floating times and dates are read in
the calendar's X-WR-TIMEZONE, else in ZONE (the source's time zone), as the
reader does; an event without SUMMARY is "(untitled)".
"""
import datetime
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events

path, zone, start, end = sys.argv[1:5]
start = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
end = datetime.datetime.fromisoformat(end.replace("Z", "+00:00"))
with open(path, "rb") as f:
    calendars = icalendar.Calendar.from_ical(f.read(), multiple=True)


def utc(value, floating):
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=floating)
    return value.astimezone(datetime.timezone.utc)


out = []
for cal in calendars:
    wr = cal.get("X-WR-TIMEZONE")
    floating = zoneinfo.ZoneInfo(str(wr)) if wr else zoneinfo.ZoneInfo(zone)
    # Wide enough for every start in [start, end] whatever the zone.
    found = recurring_ical_events.of(cal).between(
        start - datetime.timedelta(days=2), end + datetime.timedelta(days=2)
    )
    for ev in found:
        s = utc(ev["DTSTART"].dt, floating)
        e = utc(ev["DTEND"].dt, floating) if "DTEND" in ev else s
        if start <= s <= end:
            title = " ".join(str(ev.get("SUMMARY", "")).split()) or "(untitled)"
            out.append([s.strftime("%Y-%m-%dT%H:%M:%SZ"), e.strftime("%Y-%m-%dT%H:%M:%SZ"), title])
print(json.dumps(sorted(out)))
