"""The feed `events ics` writes, built with the icalendar package from the
sessions `events upcoming --json` printed (a file named on the command line),
written to stdout: what bench/run times beside `events ics`."""

import json
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event


def availability(s):
    full = "Fully booked – a waiting list is open." if s["waitlist"] else "Fully booked."
    status, left, cap = s["status"], s["spaces_left"], s["capacity"]
    if status == "withdrawn":
        return "Withdrawn: this session is no longer listed on the booking site."
    if status == "cancelled":
        return "Cancelled by the organiser."
    if status == "closed":
        return "Booking has closed."
    if status == "full" or left == 0:
        return full
    if left is not None and cap is not None and cap >= left:
        return f"{left} of {cap} {'place' if cap == 1 else 'places'} left."
    if left == 1:
        return "1 place left."
    if left is not None:
        return f"{left} places left."
    if s["availability"] == "not-published":
        return "The booking site does not publish how many places are left."
    return "Places available (the booking site does not say how many)."


def description(s):
    head = [availability(s)]
    if s["prerequisites"]:
        head.append(f"Prerequisites: {s['prerequisites']}")
    if s["category"]:
        head.append(f"Category: {s['category']}")
    if s["level"]:
        head.append(f"Level: {s['level']}")
    if s["online"]:
        head.append(f"Online: {s['location']}" if s["location"] else "Online")
    parts = ["\n".join(head)]
    if s["description"]:
        parts.append(s["description"])
    parts.append(f"Book: {s['url']}")
    return "\n\n".join(parts)


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        sessions = json.load(f)
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", "-//events//Safeguarding training sessions//EN")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Safeguarding training")
    cal.add("x-wr-timezone", "Europe/London")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for s in sessions:
        tz = ZoneInfo(s["timezone"])
        ev = Event()
        ev.add("uid", s["uid"])
        ev.add("sequence", s["sequence"])
        ev.add("dtstamp", when(s["last_changed"]))
        ev.add("dtstart", when(s["start"]).astimezone(tz))
        ev.add("dtend", when(s["end"]).astimezone(tz))
        ev.add("summary", f"{s['title']} ({s['places']})")
        ev.add("description", description(s))
        location = s["location"] or ("Online" if s["online"] else None)
        if location:
            ev.add("location", location)
        ev.add("url", s["url"])
        ev.add("status", "CANCELLED" if s["status"] in ("cancelled", "withdrawn") else "CONFIRMED")
        ev.add("transp", "TRANSPARENT")
        if s["category"]:
            ev.add("categories", [s["category"]])
        cal.add_component(ev)
    cal.add_missing_timezones()
    sys.stdout.buffer.write(cal.to_ical())


if __name__ == "__main__":
    main()
