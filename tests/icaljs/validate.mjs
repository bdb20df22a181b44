// Validates an iCalendar feed with ical.js, the parser Thunderbird and Nextcloud use.
//
//   node validate.mjs feed.ics [expected.json]
//   node validate.mjs < feed.ics
//
// Checks: the feed parses; every VEVENT has UID, SUMMARY, DTSTART and DTEND;
// every TZID a property uses has a VTIMEZONE in the feed; every zoned
// DTSTART/DTEND resolves to that VTIMEZONE (not a floating time). With
// expected.json ({"<uid>": "2027-07-15T08:30:00Z"} or
// {"<uid>": {"start": "...Z", "end": "...Z"}}) it also checks that converting
// each event's times to UTC through the feed's own VTIMEZONE gives those
// instants, and that every expected UID is present.
//
// Prints `ok: N events, M timezones` and exits 0, or prints every problem
// found to stderr and exits 1 (2 for bad usage or unreadable input).

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function die(code, message) {
  process.stderr.write(`validate.mjs: ${message}\n`);
  process.exit(code);
}

let text;
let expected = null;
try {
  text = readFileSync(process.argv[2] && process.argv[2] !== "-" ? process.argv[2] : 0, "utf8");
  if (process.argv[3]) {
    expected = JSON.parse(readFileSync(process.argv[3], "utf8"));
  }
} catch (e) {
  die(2, `cannot read input: ${e.message}`);
}

let root;
try {
  root = new ICAL.Component(ICAL.parse(text));
} catch (e) {
  die(1, `ical.js cannot parse the feed: ${e.message}`);
}
if (root.name !== "vcalendar") {
  die(1, `top-level component is ${root.name}, not vcalendar`);
}

const problems = [];

// Zones first: ical.js resolves a TZID when a time value is first read, so the
// feed's VTIMEZONEs must be registered before any event is looked at.
const vtimezones = root.getAllSubcomponents("vtimezone");
const defined = new Set();
for (const vtz of vtimezones) {
  const tzid = vtz.getFirstPropertyValue("tzid");
  if (!tzid) {
    problems.push("a VTIMEZONE has no TZID");
    continue;
  }
  if (defined.has(tzid)) {
    problems.push(`VTIMEZONE ${tzid} is defined twice`);
  }
  defined.add(tzid);
  if (vtz.getAllSubcomponents().filter((c) => c.name === "standard" || c.name === "daylight").length === 0) {
    problems.push(`VTIMEZONE ${tzid} has no STANDARD or DAYLIGHT observance`);
  }
  ICAL.TimezoneService.register(vtz);
}

// Every TZID parameter anywhere in the feed needs a VTIMEZONE in the feed.
const used = new Set();
(function collect(comp) {
  for (const prop of comp.getAllProperties()) {
    const tzid = prop.getParameter("tzid");
    if (tzid) used.add(tzid);
  }
  for (const sub of comp.getAllSubcomponents()) collect(sub);
})(root);
for (const tzid of used) {
  if (!defined.has(tzid)) problems.push(`TZID ${tzid} is used but has no VTIMEZONE`);
}

const iso = (t) => new Date(t.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");
const sameInstant = (a, b) => new Date(a).getTime() === new Date(b).getTime();

const seen = new Set();
const vevents = root.getAllSubcomponents("vevent");
for (const [i, vevent] of vevents.entries()) {
  const event = new ICAL.Event(vevent);
  const name = event.uid || `VEVENT #${i + 1}`;
  if (!event.uid) problems.push(`${name}: no UID`);
  else if (seen.has(event.uid)) problems.push(`${name}: UID used twice`);
  seen.add(event.uid);
  if (!event.summary) problems.push(`${name}: no SUMMARY`);
  const times = {};
  for (const [key, prop] of [["start", "dtstart"], ["end", "dtend"]]) {
    const t = key === "start" ? event.startDate : event.endDate;
    if (!t) {
      problems.push(`${name}: no ${prop.toUpperCase()}`);
      continue;
    }
    const tzid = vevent.getFirstProperty(prop)?.getParameter("tzid");
    if (tzid && t.zone?.tzid !== tzid) {
      problems.push(`${name}: ${prop.toUpperCase()} zone ${tzid} did not resolve (got ${t.zone?.tzid ?? "floating"})`);
    }
    if (!tzid && t.zone !== ICAL.Timezone.utcTimezone && !t.isDate) {
      problems.push(`${name}: ${prop.toUpperCase()} is a floating time`);
    }
    times[key] = iso(t);
  }
  if (times.start && times.end && new Date(times.end) < new Date(times.start)) {
    problems.push(`${name}: DTEND ${times.end} is before DTSTART ${times.start}`);
  }
  if (expected && event.uid in expected) {
    const want = typeof expected[event.uid] === "string" ? { start: expected[event.uid] } : expected[event.uid];
    for (const key of ["start", "end"]) {
      if (want[key] && !(times[key] && sameInstant(times[key], want[key]))) {
        problems.push(`${name}: ${key} in UTC is ${times[key]}, expected ${want[key]}`);
      }
    }
  }
}
if (expected) {
  for (const uid of Object.keys(expected)) {
    if (!seen.has(uid)) problems.push(`expected event ${uid} is missing`);
  }
}

if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`problem: ${p}\n`);
  die(1, `${problems.length} problem(s) in ${vevents.length} events`);
}
console.log(`ok: ${vevents.length} events, ${vtimezones.length} timezones`);
