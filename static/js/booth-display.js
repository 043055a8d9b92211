// The booth display (/booth). A rotating station's code changes every 30 s: the page says how
// many seconds its window has left (data-seconds-left), and just after each boundary the QR image
// (GET /booth/qr.svg, no-store) is fetched again, so the screen always shows a code the server
// accepts. Every few minutes the whole page reloads, which also refreshes today's stamp count.
// A fixed station gets a "Print this code" button. Without JavaScript a <noscript> refresh reloads
// the page at each boundary instead.

const MARGIN_MS = 400; // ask a little after the boundary: by then the server is in the new window

function startRotating(display) {
  const image = display.querySelector("[data-booth-qr]");
  const offline = display.querySelector("[data-qr-offline]");
  const base = display.dataset.qrUrl;
  const windowMs = Number(display.dataset.windowSeconds || 30) * 1000;
  const reloadAfter = Number(display.dataset.reloadWindows || 10);
  const started = performance.now();
  const first = Math.max(0, Number(display.dataset.secondsLeft || 0) * 1000) + MARGIN_MS;
  let refreshed = 0;
  let timer = null;

  const refresh = () => {
    const url = new URL(base, location.href);
    url.searchParams.set("t", String(Date.now())); // a new URL: no cache may answer
    image.src = url.pathname + url.search;
  };
  image.addEventListener("load", () => { if (offline) offline.hidden = true; });
  image.addEventListener("error", () => { if (offline) offline.hidden = false; });

  const schedule = () => {
    const boundary = started + first + refreshed * windowMs;
    timer = setTimeout(tick, Math.max(0, boundary - performance.now()));
  };
  function tick() {
    // Catch up on boundaries missed while the tab slept, then show the current code once.
    while (started + first + refreshed * windowMs <= performance.now()) refreshed += 1;
    if (refreshed >= reloadAfter) {
      location.reload();
      return;
    }
    refresh();
    schedule();
  }
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    clearTimeout(timer);
    tick();
  });
  schedule();
}

function startFixed(display) {
  const button = display.querySelector("[data-print]");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

const display = document.querySelector("[data-booth-display]");
if (display) {
  if (display.dataset.mode === "rotating") startRotating(display);
  else startFixed(display);
}
