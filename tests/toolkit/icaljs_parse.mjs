// Reads one .ics on stdin with Mozilla's ical.js (Thunderbird's parser) and
// prints what a calendar client would see, as JSON. The Python tests compare it
// with what kit meant to write, so kit is not only checked by the library that
// wrote the file. Setup: npm ci --prefix tests/toolkit
import ICAL from "ical.js";

const text = await new Promise((resolve, reject) => {
  let data = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
  process.stdin.on("error", reject);
});

const calendar = new ICAL.Component(ICAL.parse(text));

// Register the file's own VTIMEZONEs, so times are resolved with the
// definitions kit wrote, not with a zone database ical.js might bring.
const timezones = calendar.getAllSubcomponents("vtimezone");
for (const vtimezone of timezones) {
  ICAL.TimezoneService.register(vtimezone);
}

function params(property) {
  if (!property) return null;
  const out = { value: property.getFirstValue() };
  for (const name of ["cn", "role", "partstat", "rsvp", "cutype", "tzid", "value"]) {
    const value = property.getParameter(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function when(vevent, name) {
  const property = vevent.getFirstProperty(name);
  const time = property.getFirstValue();
  return {
    local: time.toString(), // wall time as written, e.g. 2026-12-01T18:30:00
    tzid: property.getParameter("tzid") ?? null,
    zone: time.zone ? time.zone.tzid : null, // the zone ical.js resolved it to
    utc: time.toUnixTime(), // seconds since the epoch, through the VTIMEZONE
  };
}

function text_of(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null ? null : String(value);
}

function event(vevent) {
  const geo = vevent.getFirstPropertyValue("geo");
  return {
    uid: text_of(vevent, "uid"),
    summary: text_of(vevent, "summary"),
    description: text_of(vevent, "description"),
    location: text_of(vevent, "location"),
    url: text_of(vevent, "url"),
    status: text_of(vevent, "status"),
    sequence: vevent.getFirstPropertyValue("sequence"),
    geo: geo ? geo.map(Number) : null,
    dtstamp: text_of(vevent, "dtstamp"),
    last_modified: text_of(vevent, "last-modified"),
    start: when(vevent, "dtstart"),
    end: when(vevent, "dtend"),
    organizer: params(vevent.getFirstProperty("organizer")),
    attendees: vevent.getAllProperties("attendee").map(params),
    alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
      action: text_of(alarm, "action"),
      trigger: text_of(alarm, "trigger"),
      description: text_of(alarm, "description"),
    })),
  };
}

const refresh = calendar.getFirstProperty("refresh-interval");
const result = {
  name: calendar.name,
  version: text_of(calendar, "version"),
  prodid: text_of(calendar, "prodid"),
  method: text_of(calendar, "method"),
  calname: text_of(calendar, "x-wr-calname"),
  refresh_interval: refresh
    ? { value: String(refresh.getFirstValue()), type: refresh.type }
    : null,
  published_ttl: text_of(calendar, "x-published-ttl"),
  timezones: timezones.map((tz) => text_of(tz, "tzid")),
  events: calendar.getAllSubcomponents("vevent").map(event),
};
process.stdout.write(JSON.stringify(result));
