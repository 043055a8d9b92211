// The "Show times in my time zone" switch. The server renders every <time> in the conference's
// zone; this rewrites them in the browser's zone and back, and remembers the choice.

const STORAGE_KEY = "companion.times";
const TIME = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
const DAY = { weekday: "short", day: "numeric", month: "short" };

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function zoneAbbreviation(zone, date = new Date()) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" }).formatToParts(date);
  return parts.find((part) => part.type === "timeZoneName")?.value || "";
}

function dayKey(date, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

// "09:00", or "Tue 7 Apr, 09:00" for data-format="day-time". A plain time whose date differs
// from the conference's date gets the day added, so 01:00 in Paris never reads as "today, 19:00".
export function formatTime(date, zone, format, conferenceZone) {
  const time = new Intl.DateTimeFormat("en-GB", { ...TIME, timeZone: zone }).format(date);
  const day = new Intl.DateTimeFormat("en-GB", { ...DAY, timeZone: zone }).format(date).replace(",", "");
  if (format === "day-time") return `${day}, ${time}`;
  if (conferenceZone && dayKey(date, zone) !== dayKey(date, conferenceZone)) return `${time} (${day})`;
  return time;
}

function readChoice() {
  try {
    return localStorage.getItem(STORAGE_KEY) === "browser";
  } catch {
    return false; // storage blocked: fall back to the conference's zone
  }
}

function saveChoice(useBrowser) {
  try {
    localStorage.setItem(STORAGE_KEY, useBrowser ? "browser" : "conference");
  } catch {
    /* the switch still works for this page */
  }
}

export function showTimes(root, useBrowser, conferenceZone) {
  const zone = browserZone();
  for (const element of root.querySelectorAll("time[datetime]")) {
    if (!element.dateTime.includes("T")) continue;
    if (element.dataset.conferenceText === undefined) element.dataset.conferenceText = element.textContent;
    element.textContent = useBrowser
      ? formatTime(new Date(element.dateTime), zone, element.dataset.format, conferenceZone)
      : element.dataset.conferenceText;
  }
}

export function initTimeZoneSwitch(root = document) {
  const panel = root.querySelector("[data-tz-root]");
  if (!panel) return;
  const button = panel.querySelector("[data-tz-switch]");
  const text = panel.querySelector("[data-tz-text]");
  const conferenceZone = panel.dataset.zone;
  const conferenceNote = text.cloneNode(true);
  const zone = browserZone();
  // Name the zone's abbreviation at the moments shown (EDT in April), as the server does.
  const firstTime = root.querySelector("time[datetime*='T']");
  const shownAt = firstTime ? new Date(firstTime.dateTime) : new Date();

  function apply(useBrowser) {
    showTimes(root, useBrowser, conferenceZone);
    button.setAttribute("aria-pressed", String(useBrowser));
    if (useBrowser) {
      button.textContent = `Show times in conference time (${conferenceZone})`;
      text.textContent = `Times are in your time zone, ${zone} (${zoneAbbreviation(zone, shownAt)}). The conference runs on ${conferenceZone} time.`;
    } else {
      button.textContent = "Show times in my time zone";
      text.replaceChildren(...conferenceNote.cloneNode(true).childNodes);
    }
  }

  button.hidden = false;
  button.addEventListener("click", () => {
    const useBrowser = button.getAttribute("aria-pressed") !== "true";
    saveChoice(useBrowser);
    apply(useBrowser);
  });
  if (readChoice()) apply(true);
}

initTimeZoneSwitch(document);
