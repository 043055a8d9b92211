// Star buttons (templates/agenda/_star.html): one <button aria-pressed data-star="CODE"> per
// session, inside a form that works without JavaScript. This module makes them instant.
//
// Signed in (the page has <meta name="csrf-token">): PUT or DELETE /api/v1/agenda/CODE through
// the offline queue (static/js/queue-core.js), shown at once. Without a connection the star is
// kept on this phone, marked "not saved yet", and sent (once: it carries an Idempotency-Key)
// when the connection is back; the answer then shows. A star is never dropped silently.
// Signed out: stars live on this phone ("companion.stars", a list of codes), with a hint to sign
// in. The first page loaded after signing in sends them to POST /api/v1/agenda/merge and, once
// the server has them, forgets them here.

const STARS_KEY = "companion.stars";
const PENDING_KEY = "companion.stars.pending"; // an earlier version's retry list, adopted by the queue
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

// The session's title, as the button's hidden text names it (for the offline queue's list).
function titleOf(code) {
  const hidden = buttonsFor(code)[0]?.querySelector(".visually-hidden");
  return hidden ? hidden.textContent.trim() : code;
}

const DAY_MS = 24 * 3600 * 1000;

function signedIn(token) {
  const queue = self.CompanionQueue;
  let merging = false;

  // Show the answer to a star sent through the offline queue.
  function settle(entry, wasWaiting) {
    const code = entry.target;
    if (entry.state === "refused" && entry.result?.status === 404) {
      show(code, false);
      note(code, "This session is no longer on the schedule", false);
    } else if (entry.state === "refused" || entry.state === "corrupt") {
      note(code, entry.result?.message || NOT_SAVED, true);
    } else {
      note(code, wasWaiting ? "Saved" : "", false);
    }
  }

  async function toggle(code, starred) {
    show(code, starred);
    const title = titleOf(code);
    const { entry, final } = await queue.act({
      method: starred ? "PUT" : "DELETE",
      url: `/api/v1/agenda/${encodeURIComponent(code)}`,
      body: null,
      csrf: token,
      label: starred ? `Star “${title}”` : `Remove the star from “${title}”`,
      kind: "star",
      target: code,
    }, 3000);
    if (final) {
      settle(final, false);
      return;
    }
    note(code, NOT_SAVED, true); // kept on this phone: sent when the connection is back
    const later = await queue.settled(entry.key, DAY_MS);
    if (later) settle(later, true);
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
      /* offline: tried again on the next page, or when the connection is back */
    } finally {
      merging = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = form instanceof HTMLFormElement && form.matches("[data-star-form]") && form.querySelector("button[data-star]");
    if (!button || !queue) return; // no queue (a browser without IndexedDB): the form posts
    event.preventDefault();
    toggle(button.dataset.star, button.getAttribute("aria-pressed") !== "true");
  });

  // Stars an earlier version of this page kept in localStorage: into the queue, once.
  async function adoptOldPending() {
    const old = pendingStars();
    savePending({});
    for (const [code, starred] of Object.entries(old)) {
      await queue.add({
        method: starred ? "PUT" : "DELETE", url: `/api/v1/agenda/${encodeURIComponent(code)}`, body: null,
        csrf: token, label: `${starred ? "Star" : "Remove the star from"} ${code}`, kind: "star", target: code,
      });
    }
  }

  // What is still waiting in the queue: show it as asked, and its answer when it comes.
  async function showWaiting() {
    if (!queue) return;
    await adoptOldPending().catch(() => undefined);
    const entries = await queue.all().catch(() => []);
    for (const entry of entries) {
      if (entry?.kind !== "star" || entry.state !== "pending" || !isCode(entry.target)) continue;
      show(entry.target, entry.method === "PUT");
      note(entry.target, NOT_SAVED, true);
      queue.settled(entry.key, DAY_MS).then((final) => final && settle(final, true));
    }
  }

  showWaiting();
  merge();
  window.addEventListener("online", merge);
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
