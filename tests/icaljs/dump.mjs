// Reads an iCalendar feed with ical.js (Thunderbird, Nextcloud) and prints what
// it understood as one JSON object, in the shape every reader in
// tests/calendar_clients.rs prints:
//
//   {"name", "description", "x_wr_calname", "x_wr_caldesc",
//    "naive_events": N,
//    "events": [{"uid", "summary", "description", "location", "status", "start", "end"}]}
//
//   node dump.mjs feed.ics
//
// `start` and `end` are Unix seconds, converted through the feed's own
// VTIMEZONEs. `naive_events` counts events the way some JavaScript parsers
// find them, with an unanchored BEGIN:VEVENT…END:VEVENT pattern over the whole
// text: a text value holding those words would make it differ from the real
// count. Exits 2 when the feed cannot be read or parsed.

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

let root;
let text;
try {
  text = readFileSync(process.argv[2], "utf8");
  root = new ICAL.Component(ICAL.parse(text));
} catch (e) {
  process.stderr.write(`dump.mjs: ${e.message}\n`);
  process.exit(2);
}
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}
const value = (comp, name) => {
  const v = comp.getFirstPropertyValue(name);
  return v === null || v === undefined ? null : String(v);
};
const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const ev = new ICAL.Event(vevent);
  return {
    uid: ev.uid,
    summary: value(vevent, "summary"),
    description: value(vevent, "description"),
    location: value(vevent, "location"),
    status: value(vevent, "status"),
    start: ev.startDate.toUnixTime(),
    end: ev.endDate.toUnixTime(),
  };
});
console.log(
  JSON.stringify({
    name: value(root, "name"),
    description: value(root, "description"),
    x_wr_calname: value(root, "x-wr-calname"),
    x_wr_caldesc: value(root, "x-wr-caldesc"),
    naive_events: (text.match(/BEGIN:VEVENT[\s\S]*?END:VEVENT/g) || []).length,
    events,
  }),
);
