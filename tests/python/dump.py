"""Reads an iCalendar feed with Python's `icalendar` or `vobject` package and
prints what it understood as one JSON object, in the shape every reader in
tests/calendar_clients.rs prints:

    {"name", "description", "x_wr_calname", "x_wr_caldesc",
     "events": [{"uid", "summary", "description", "location", "status", "start", "end"}]}

    python3 dump.py icalendar feed.ics
    python3 dump.py vobject feed.ics

`start` and `end` are Unix seconds, converted through the feed's own
VTIMEZONEs. Exits 2 when the feed cannot be read or parsed, 3 when the package
is not installed (`pip install -r requirements.txt`).
"""

import json
import sys


def text(v):
    return None if v is None else str(v)


def with_icalendar(data):
    import icalendar

    cal = icalendar.Calendar.from_ical(data)
    events = []
    for ev in cal.walk("VEVENT"):
        events.append(
            {
                "uid": text(ev.get("UID")),
                "summary": text(ev.get("SUMMARY")),
                "description": text(ev.get("DESCRIPTION")),
                "location": text(ev.get("LOCATION")),
                "status": text(ev.get("STATUS")),
                "start": int(ev.decoded("DTSTART").timestamp()),
                "end": int(ev.decoded("DTEND").timestamp()),
            }
        )
    return {
        "name": text(cal.get("NAME")),
        "description": text(cal.get("DESCRIPTION")),
        "x_wr_calname": text(cal.get("X-WR-CALNAME")),
        "x_wr_caldesc": text(cal.get("X-WR-CALDESC")),
        "events": events,
    }


def with_vobject(data):
    import vobject

    cal = vobject.readOne(data.decode("utf-8"))

    def first(comp, name):
        lines = comp.contents.get(name.lower())
        return lines[0].value if lines else None

    events = []
    for ev in cal.vevent_list if "vevent" in cal.contents else []:
        events.append(
            {
                "uid": text(first(ev, "UID")),
                "summary": text(first(ev, "SUMMARY")),
                "description": text(first(ev, "DESCRIPTION")),
                "location": text(first(ev, "LOCATION")),
                "status": text(first(ev, "STATUS")),
                "start": int(ev.dtstart.value.timestamp()),
                "end": int(ev.dtend.value.timestamp()),
            }
        )
    return {
        "name": text(first(cal, "NAME")),
        "description": text(first(cal, "DESCRIPTION")),
        "x_wr_calname": text(first(cal, "X-WR-CALNAME")),
        "x_wr_caldesc": text(first(cal, "X-WR-CALDESC")),
        "events": events,
    }


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("icalendar", "vobject"):
        sys.stderr.write("usage: dump.py icalendar|vobject feed.ics\n")
        return 2
    which, path = sys.argv[1], sys.argv[2]
    try:
        __import__(which)
    except ImportError:
        sys.stderr.write(f"dump.py: the {which} package is not installed\n")
        return 3
    with open(path, "rb") as f:
        data = f.read()
    try:
        out = with_icalendar(data) if which == "icalendar" else with_vobject(data)
    except Exception as e:  # any parse failure is the answer
        sys.stderr.write(f"dump.py: {which} cannot read the feed: {e!r}\n")
        return 2
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
