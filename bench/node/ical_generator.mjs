// The feed `events ics` writes, built with ical-generator from the sessions
// `events upcoming --json` printed (a file named on the command line), written
// to stdout: what bench/run times beside `events ics`.
import { readFileSync } from 'node:fs';
import { ICalCalendar, ICalEventStatus, ICalEventTransparency } from 'ical-generator';
import { getVtimezoneComponent } from '@touch4it/ical-timezones';

const sessions = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// The availability sentence of the feed's DESCRIPTION (src/feed/wording.rs).
function availability(s) {
  const full = s.waitlist ? 'Fully booked – a waiting list is open.' : 'Fully booked.';
  switch (s.status) {
    case 'withdrawn': return 'Withdrawn: this session is no longer listed on the booking site.';
    case 'cancelled': return 'Cancelled by the organiser.';
    case 'closed': return 'Booking has closed.';
    case 'full': return full;
    default:
      if (s.spaces_left === 0) return full;
      if (s.spaces_left != null && s.capacity != null && s.capacity >= s.spaces_left)
        return `${s.spaces_left} of ${s.capacity} ${s.capacity === 1 ? 'place' : 'places'} left.`;
      if (s.spaces_left === 1) return '1 place left.';
      if (s.spaces_left != null) return `${s.spaces_left} places left.`;
      if (s.availability === 'not-published')
        return 'The booking site does not publish how many places are left.';
      return 'Places available (the booking site does not say how many).';
  }
}

function description(s) {
  const head = [availability(s)];
  if (s.prerequisites) head.push(`Prerequisites: ${s.prerequisites}`);
  if (s.category) head.push(`Category: ${s.category}`);
  if (s.level) head.push(`Level: ${s.level}`);
  if (s.online) head.push(s.location ? `Online: ${s.location}` : 'Online');
  const parts = [head.join('\n')];
  if (s.description) parts.push(s.description);
  parts.push(`Book: ${s.url}`);
  return parts.join('\n\n');
}

const cal = new ICalCalendar({
  name: 'Safeguarding training',
  prodId: '//events//Safeguarding training sessions//EN',
  method: 'PUBLISH',
  ttl: 3600,
});
cal.timezone({ name: 'Europe/London', generator: getVtimezoneComponent });
for (const s of sessions) {
  const off = s.status === 'cancelled' || s.status === 'withdrawn';
  cal.createEvent({
    id: s.uid,
    sequence: s.sequence,
    stamp: new Date(s.last_changed),
    start: new Date(s.start),
    end: new Date(s.end),
    timezone: s.timezone,
    summary: `${s.title} (${s.places})`,
    description: description(s),
    location: s.location ?? (s.online ? 'Online' : null),
    url: s.url,
    status: off ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
    transparency: ICalEventTransparency.TRANSPARENT,
    categories: s.category ? [{ name: s.category }] : [],
  });
}
process.stdout.write(cal.toString());
