// The staff scanner on /staff/check-in: the phone camera reads badge QR codes and each one is
// checked in through POST /api/v1/check-ins. The camera starts from a tap (browsers ask for the
// permission then). Decoding: see scanner.js. Offline, check-ins wait in the offline queue.

// scanner.js comes by its hashed URL, which the page gives (data-scanner-url): a static
// import of ./scanner.js would ask for the unhashed URL, which browsers keep for a year (a new
// deployment's scanner would never reach a phone) and the service worker does not keep offline.
let cameraScanner;
let showResult;

const SCAN_INTERVAL_MS = 150;
// The same badge held in front of the camera is sent once, not ten times a second.
const SAME_CODE_PAUSE_MS = 4000;

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

export async function checkIn(apiUrl, code) {
  const response = await fetch(apiUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ token: code }),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

function describe({ status, body }) {
  if (status === 200 && !body.already) {
    return ["new", `Checked in: ${body.attendee.name}`, [body.attendee.company, body.attendee.ticket_type].filter(Boolean).join(" · ")];
  }
  if (status === 200) {
    const by = body.checked_in_by ? ` by ${body.checked_in_by}` : "";
    return ["already", `Already checked in at ${body.checked_in_at_local}${by}`, `(${body.attendee.name})`];
  }
  if (status === 404) return ["invalid", "No badge with this code: it may have been replaced.", "Look the person up by name."];
  if (status === 401 || status === 403) return ["invalid", "You are signed out.", "Sign in again as staff."];
  return ["invalid", "The check-in did not go through.", body.detail || "Try again."];
}

// No connection at the door: the check-in goes into the offline queue (static/js/queue-core.js)
// and is sent, once, when the connection is back.
// A badge's QR: its token (16 to 64 URL-safe characters), alone or in its /b/<token> URL.
const BADGE_CODE = /(?:^|\/b\/)[A-Za-z0-9_-]{16,64}\/?$/;

async function keepForLater(apiUrl, code) {
  const queue = self.CompanionQueue;
  if (!queue || !BADGE_CODE.test(code.trim())) return false; // not a badge: no "let them in" offline
  try {
    const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    await queue.add({
      method: "POST", url: apiUrl, body: { token: code }, csrf: csrfToken(),
      label: `Badge checked in at ${time}`, kind: "check-in", target: code.trim().slice(-8),
    });
    return true;
  } catch {
    return false;
  }
}

function initScanner(root) {
  const start = root.querySelector("[data-start-camera]");
  const stop = root.querySelector("[data-stop-camera]");
  const video = root.querySelector("[data-video]");
  const note = root.querySelector("[data-scanner-note]");
  if (!navigator.mediaDevices?.getUserMedia) {
    note.textContent = "This browser cannot use the camera here: find people by name below.";
    return;
  }
  cameraScanner({
    root, video, start, stop, intervalMs: SCAN_INTERVAL_MS, pauseMs: SAME_CODE_PAUSE_MS,
    async onCode(code) {
      try {
        const [kind, text, detail] = describe(await checkIn(root.dataset.apiUrl, code));
        showResult(root, kind, text, detail);
        if (kind === "new") navigator.vibrate?.(120);
        document.dispatchEvent(new CustomEvent("companion:checked-in"));
      } catch (error) {
        console.warn("check-in not sent now:", error);
        if (await keepForLater(root.dataset.apiUrl, code)) {
          showResult(root, "already", "No connection: check-in kept on this phone.",
                     "It is sent when the connection is back; let the person in.");
        } else {
          showResult(root, "invalid", "No connection: the check-in did not go through.", "Try again.");
        }
      }
    },
    onCameraError(error) {
      showResult(root, "invalid", "The camera did not start.", error.name === "NotAllowedError"
        ? "Allow the camera for this site in the browser's settings, or find people by name below."
        : "Find people by name below.");
    },
  });
}

const scanner = document.querySelector("[data-scanner]");
if (scanner) {
  ({ cameraScanner, showResult } = await import(scanner.dataset.scannerUrl));
  initScanner(scanner);
}
