// Star buttons (templates/agenda/_star.html): one <button aria-pressed data-star="CODE"> per
// session, inside a form that works without JavaScript. This module makes them instant.
//
// Signed in (the page has <meta name="csrf-token">): PUT or DELETE /api/v1/agenda/CODE, shown at
// once. A request that fails keeps what the person asked for in localStorage
// ("companion.stars.pending") and says "not saved yet" until a retry succeeds: on the `online`
// event, when the page is shown again, every 30 s, and on the next page load. A star is never
// dropped silently.
// Signed out: stars live on this phone ("companion.stars", a list of codes), with a hint to sign
// in. The first page loaded after signing in sends them to POST /api/v1/agenda/merge and, once
// the server has them, forgets them here.

const STARS_KEY = "companion.stars";
const PENDING_KEY = "companion.stars.pending";
const RETRY_MS = 30000;
const SAVED_NOTE_MS = 5000;
const MAX_CODES = 500;
const NOT_SAVED = "not saved yet";
const HINT = "Sign in to keep your stars on all your devices";

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback; // storage blocked or garbled: start afresh
  }
}

function write(key, value, empty) {
  try {
    if (empty) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage blocked: the page still shows the state */
  }
}

function isCode(value) {
  return typeof value === "string" && value.length > 0 && value.length <= 64;
}

export function localStars() {
  const stored = read(STARS_KEY, []);
  return Array.isArray(stored) ? stored.filter(isCode).slice(0, MAX_CODES) : [];
}

function saveLocalStars(codes) {
  const unique = [...new Set(codes)].slice(0, MAX_CODES);
  write(STARS_KEY, unique, unique.length === 0);
}

export function pendingStars() {
  const stored = read(PENDING_KEY, {});
  if (!stored || typeof stored !== "object" || Array.isArray(stored)) return {};
  return Object.fromEntries(Object.entries(stored).filter(([code, wanted]) => isCode(code) && typeof wanted === "boolean"));
}

function savePending(pending) {
  write(PENDING_KEY, pending, Object.keys(pending).length === 0);
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || null;
}

function buttonsFor(code) {
  return [...document.querySelectorAll("button[data-star]")].filter((button) => button.dataset.star === code);
}

// Show ``code`` as starred or not on every button of the page (a session can be listed twice,
// in "now and next" and in its time slot), and point the no-JavaScript form the right way.
function show(code, starred) {
  for (const button of buttonsFor(code)) {
    button.setAttribute("aria-pressed", String(starred));
    const form = button.form;
    if (form && form.method === "post") {
      form.action = `/agenda/${starred ? "unstar" : "star"}/${encodeURIComponent(code)}`;
    }
  }
}

const savedTimers = new Map();

function note(code, text, unsaved) {
  clearTimeout(savedTimers.get(code));
  for (const button of buttonsFor(code)) {
    const form = button.form;
    if (!form) continue;
    form.classList.toggle("is-unsaved", unsaved);
    const status = form.querySelector("[data-star-status]");
    if (status) status.textContent = text;
  }
  if (text && !unsaved) savedTimers.set(code, setTimeout(() => note(code, "", false), SAVED_NOTE_MS));
}

// --- signed in -------------------------------------------------------------------------------

function signedIn(token) {
  const inFlight = new Set();
  const failed = new Set();
  let merging = false;

  async function send(code) {
    if (inFlight.has(code)) return;
    const wanted = pendingStars()[code];
    if (wanted === undefined) return;
    inFlight.add(code);
    let outcome = "failed";
    try {
      const response = await fetch(`/api/v1/agenda/${encodeURIComponent(code)}`, {
        method: wanted ? "PUT" : "DELETE",
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) outcome = "saved";
      else if (response.status === 404) outcome = "gone";
    } catch {
      outcome = "failed"; // offline, or the request was cut off
    } finally {
      inFlight.delete(code);
    }
    const pending = pendingStars();
    if (outcome === "failed") {
      failed.add(code);
      note(code, NOT_SAVED, true);
      return;
    }
    if (pending[code] !== wanted) {
      if (pending[code] !== undefined) send(code); // pressed again meanwhile: send the newest wish
      return;
    }
    delete pending[code];
    savePending(pending);
    if (outcome === "gone") {
      show(code, false);
      note(code, "This session is no longer on the schedule", false);
    } else {
      note(code, failed.delete(code) ? "Saved" : "", false);
    }
  }

  async function merge() {
    const codes = localStars();
    if (!codes.length || merging) return;
    merging = true;
    try {
      const response = await fetch("/api/v1/agenda/merge", {
        method: "POST",
        headers: { "X-CSRFToken": token, "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ codes }),
      });
      if (!response.ok) return;
      const { added } = await response.json();
      saveLocalStars(localStars().filter((code) => !codes.includes(code)));
      for (const code of codes) show(code, true);
      // "My agenda" was drawn before these arrived: draw it again with them.
      if (added > 0 && document.querySelector("[data-agenda]")) location.reload();
    } catch {
      /* offline: tried again with the pending stars */
    } finally {
      merging = false;
    }
  }

  function retryAll() {
    for (const code of Object.keys(pendingStars())) send(code);
    merge();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = form instanceof HTMLFormElement && form.matches("[data-star-form]") && form.querySelector("button[data-star]");
    if (!button) return;
    event.preventDefault();
    const code = button.dataset.star;
    const starred = button.getAttribute("aria-pressed") !== "true";
    const pending = pendingStars();
    pending[code] = starred;
    savePending(pending);
    show(code, starred);
    send(code);
  });

  // What an earlier page could not save: show it as asked, and try again now.
  for (const [code, starred] of Object.entries(pendingStars())) {
    show(code, starred);
    failed.add(code);
    note(code, NOT_SAVED, true);
  }
  retryAll();
  window.addEventListener("online", retryAll);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") retryAll();
  });
  setInterval(retryAll, RETRY_MS);
}

// --- signed out ------------------------------------------------------------------------------

function signedOut() {
  function showHint() {
    const main = document.querySelector("main");
    if (!main || main.querySelector("[data-star-hint]")) return;
    const hint = document.createElement("p");
    hint.className = "star-hint";
    hint.dataset.starHint = "";
    hint.append("Your stars are kept on this phone. ");
    const link = document.createElement("a");
    link.href = `/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`;
    link.textContent = HINT;
    hint.append(link, ".");
    const heading = main.querySelector("h1");
    if (heading) heading.after(hint);
    else main.prepend(hint);
  }

  function hideHint() {
    document.querySelector("[data-star-hint]")?.remove();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.matches("[data-add-shared]")) {
      event.preventDefault();
      const codes = form.dataset.addShared.split(" ").filter(isCode);
      saveLocalStars([...localStars(), ...codes]);
      for (const code of codes) show(code, true);
      const status = form.querySelector("[data-add-shared-status]");
      if (status) status.textContent = `Added ${codes.length} ${codes.length === 1 ? "session" : "sessions"} to the stars on this phone.`;
      showHint();
      return;
    }
    const button = form.matches("[data-star-form]") && form.querySelector("button[data-star]");
    if (!button) return;
    event.preventDefault();
    const code = button.dataset.star;
    const starred = button.getAttribute("aria-pressed") !== "true";
    const stars = localStars().filter((other) => other !== code);
    if (starred) stars.push(code);
    saveLocalStars(stars);
    show(code, starred);
    if (stars.length) showHint();
    else hideHint();
  });

  const stars = localStars();
  for (const code of stars) show(code, true);
  if (stars.length) showHint();
}

const token = csrfToken();
if (token) signedIn(token);
else signedOut();
