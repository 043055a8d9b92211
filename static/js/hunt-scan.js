// The attendee's hunt scanner on /hunt/scan: the phone camera reads the QR code on a booth's
// screen and the code goes to POST /api/v1/hunt/stamps; the answer ("Stamped at Acme AI.", or
// what is wrong with the code) is read out in the live region and the card's progress refreshed.
// The camera starts by itself when the permission was already given, else from a tap; it stops
// after a stamp (the next booth is a walk away, and a camera left on drains the battery).
// The "type the code" form is a plain POST without JavaScript; here it goes through the API too.
// Without a connection the scan waits in the offline queue and is sent once the phone is online.
// The camera and decoding are scanner.js's, shared with the check-in scanner.

// scanner.js comes by its hashed URL, which the page gives (data-scanner-url): a static
// import of ./scanner.js would ask for the unhashed URL, which browsers keep for a year (a new
// deployment's scanner would never reach a phone) and the service worker does not keep offline.
let cameraScanner;
let showResult;

const SCAN_INTERVAL_MS = 150;
// A code held in front of the camera is sent once, not ten times a second.
const SAME_CODE_PAUSE_MS = 5000;
const MAX_CODE_LENGTH = 300; // what the API accepts
const NOT_A_CODE = "This is not a hunt code. Scan the QR code on the booth's screen.";

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

export async function submitCode(apiUrl, code, shareContact) {
  const response = await fetch(apiUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ code, share_contact: shareContact }),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

// [kind, text]: "new" (green), "already" (amber) or "invalid" (red).
export function describe({ status, body }) {
  if (status === 201) return ["new", body.message];
  if (status === 200) return ["already", body.message];
  if (status === 401) return ["invalid", "You are signed out: sign in again, then scan the code."];
  if (status === 403) return ["invalid", body.detail || "Only attendees collect stamps."];
  if (status === 429) return ["invalid", "Too many codes in a minute: wait a moment, then scan again."];
  if (status === 422) return ["invalid", body.detail || NOT_A_CODE];
  return ["invalid", "The stamp did not go through: try again."];
}

// "3 of 5 stamps" (or "6 stamps, 5 needed" past the goal), as companion/hunt/views.py says it.
export function progressText(stamped, needed) {
  if (stamped > needed) return `${stamped} stamps, ${needed} needed`;
  return `${stamped} of ${needed} ${needed === 1 ? "stamp" : "stamps"}`;
}

export function updateProgress(card) {
  const box = document.querySelector("[data-hunt-progress]");
  if (!box || !card || !box.querySelector("[data-progress-bar]")) return;
  const text = progressText(card.stamped, card.needed);
  box.querySelector("[data-progress-text]").textContent = text;
  const bar = box.querySelector("[data-progress-bar]");
  bar.max = card.needed;
  bar.value = Math.min(card.stamped, card.needed);
  bar.textContent = text;
  box.querySelector("[data-progress-complete]").hidden = !card.complete;
  const missing = card.stations.filter((s) => s.required && !s.stamped_at).map((s) => s.name);
  const missingLine = box.querySelector("[data-progress-missing]");
  missingLine.textContent = `Still needed: ${missing.join(", ")} (required).`;
  missingLine.hidden = card.complete || !missing.length || card.stamped < card.needed;
}

// No connection: the scan goes into the offline queue (static/js/queue-core.js), marked as
// scanned offline so the server accepts the code if it was valid now, within the staff's grace.
async function keepForLater(apiUrl, code, shareContact) {
  const queue = self.CompanionQueue;
  if (!queue) return ["invalid", "No connection: the stamp was not collected. Try again when you are online."];
  try {
    const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    await queue.add({
      method: "POST", url: apiUrl, body: { code, share_contact: shareContact, offline: true }, csrf: csrfToken(),
      label: `Booth code scanned at ${time}`, kind: "stamp", target: code.split(".")[0],
    });
    return ["already", "No connection: your scan is kept on this phone and sent when you are back online."];
  } catch {
    return ["invalid", "No connection: the stamp was not collected. Try again when you are online."];
  }
}

function initScanner(root) {
  const start = root.querySelector("[data-start-camera]");
  const stop = root.querySelector("[data-stop-camera]");
  const video = root.querySelector("[data-video]");
  const note = root.querySelector("[data-scanner-note]");
  const share = document.querySelector("[data-share-contact]");
  const typedForm = document.querySelector("[data-typed-form]");
  // One code, from the camera or the form: send it, show the answer. True if it stamped (or was there).
  async function collect(code) {
    code = code.trim();
    if (code.length > MAX_CODE_LENGTH) {
      showResult(root, "invalid", NOT_A_CODE);
      return false;
    }
    let kind;
    let text;
    try {
      const answer = await submitCode(root.dataset.apiUrl, code, Boolean(share?.checked));
      [kind, text] = describe(answer);
      if (answer.status === 200 || answer.status === 201) updateProgress(answer.body.card);
    } catch (error) {
      [kind, text] = await keepForLater(root.dataset.apiUrl, code, Boolean(share?.checked));
      console.warn("stamp not sent now:", error);
    }
    showResult(root, kind, text);
    if (kind === "new") navigator.vibrate?.(120);
    return kind !== "invalid";
  }

  typedForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = typedForm.querySelector("[name=code]");
    const button = typedForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (await collect(field.value)) field.value = "";
    } finally {
      button.disabled = false;
    }
  });

  if (!navigator.mediaDevices?.getUserMedia) {
    note.textContent = "This browser cannot use the camera here: type the booth's code below.";
    return;
  }

  const camera = cameraScanner({
    root, video, start, stop, intervalMs: SCAN_INTERVAL_MS, pauseMs: SAME_CODE_PAUSE_MS,
    async onCode(code) {
      if (await collect(code)) {
        camera.stopCamera();
        start.textContent = "Scan another booth";
      }
    },
    onCameraError(error) {
      showResult(root, "invalid", error.name === "NotAllowedError"
        ? "The camera is not allowed: allow it for this site in the browser's settings, or type the code below."
        : "The camera did not start: type the booth's code below.");
    },
  });
  // Allowed before: no need for a tap (and no prompt). Browsers without the query ask on the tap.
  navigator.permissions?.query({ name: "camera" }).then(
    (status) => { if (status.state === "granted" && !camera.running()) camera.startCamera(); },
    () => {},
  );
}

const scanner = document.querySelector("[data-hunt-scanner]");
if (scanner) {
  ({ cameraScanner, showResult } = await import(scanner.dataset.scannerUrl));
  initScanner(scanner);
}
