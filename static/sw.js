// The service worker. companion/pwa.py serves it at /sw.js with a first line that defines
// VERSION (this deployment's asset version) and PRECACHE (the hashed app-shell URLs and /offline).
//
// Caches:
//   companion-shell-<VERSION>  the app shell, precached at install; dropped when VERSION changes.
//   companion-runtime-1        pages and schedule API answers, kept across deployments so what
//                              an attendee opened stays readable offline after an update.
// Strategies:
//   /api/v1/schedule: stale-while-revalidate (the saved copy at once, then revalidated by ETag).
//   navigations, /api/v1/sessions/*, /api/v1/speakers/*, /schedule/tracks.css:
//     network first (with a timeout), copy into the runtime cache (the newest MAX_RUNTIME_ENTRIES
//     kept); on failure the cached copy, else for a page the offline page.
//   /static/...?v=<hash>: cache first (the URL changes when the file does).
//   /me/badge/qr.svg: network first like the badge page, so "My badge" opens offline.
// Private pages (/me..., /staff..., /b/..., /agenda..., /ical/..., /hunt, /posters: "your vote") belong to whoever is signed in on this phone: they
// are purged from the runtime cache on sign-out (the POST going by, or a "purge-private" message
// from static/js/badge-signout.js) and when the server answers one of them with a redirect (the
// session ended elsewhere). Answers marked Cache-Control: no-store are never saved.
// Push (companion/push): shows each push as a notification, opens its page when tapped, and
// carries a subscription the browser replaced over to the server (pushsubscriptionchange).
// Offline actions (static/js/queue-core.js, shared with the pages): replayed on Background Sync;
// a booth's QR (/h/<code>) opened without a connection is queued as a stamp, then /queue shown.
/* global VERSION, PRECACHE, CompanionQueue */

importScripts(PRECACHE.find((url) => url.startsWith("/static/js/queue-core.js?")) || "/static/js/queue-core.js");

const SHELL_CACHE = `companion-shell-${VERSION}`;
const RUNTIME_CACHE = "companion-runtime-1";
const OFFLINE_URL = "/offline";
// After this long without an answer, a saved copy is shown while the network keeps trying.
const NETWORK_TIMEOUT_MS = 4000;
const PRIVATE_PATHS = /^\/(me(\/|$)|staff(\/|$)|b\/|agenda(\/|$)|ical\/|hunt(\/|$)|h\/|booth(\/|$)|posters(\/|$))/;
const SIGN_OUT_PATHS = ["/sign-out", "/sign-out-everywhere", "/me/delete"];
const NOT_SAVED_ON_ACTIVATION = /^\/(sign-in|staff)(\/|$)/;
// Every filter and search result is a page of its own: keep the newest few hundred, not all.
const MAX_RUNTIME_ENTRIES = 300;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith("companion-shell-") && name !== SHELL_CACHE)
          .map((name) => caches.delete(name)),
      );
      await self.clients.claim();
      await saveOpenPages();
    })(),
  );
});

// The pages open when the worker first takes over were loaded without it: save them now, so the
// first page an attendee opened is there offline too.
async function saveOpenPages() {
  const windows = await self.clients.matchAll({ type: "window" });
  const cache = await caches.open(RUNTIME_CACHE);
  await Promise.allSettled(
    windows
      .map((client) => new URL(client.url))
      // Not the sign-in pages or staff pages: a signed-out copy's session cookie could land after
      // the sign-in that just happened in that tab and sign the person out again.
      .filter((url) => url.origin === self.location.origin && url.pathname !== OFFLINE_URL &&
        !NOT_SAVED_ON_ACTIVATION.test(url.pathname))
      .map(async (url) => {
        if (await cache.match(url.href)) return;
        const response = await fetch(url.href, { credentials: "same-origin" });
        if (isCacheable(response)) await cache.put(url.href, response);
      }),
  );
}

function isNetworkFirst(request, url) {
  return (
    request.mode === "navigate" ||
    url.pathname.startsWith("/api/v1/sessions/") ||
    url.pathname.startsWith("/api/v1/speakers/") ||
    url.pathname === "/schedule/tracks.css" ||
    url.pathname === "/me/badge/qr.svg"
  );
}

function isHashedAsset(url) {
  return url.pathname.startsWith("/static/") && url.searchParams.has("v");
}

function isCacheable(response) {
  // A redirected answer (a captive portal, a login page) must not stand in for the page asked for.
  // no-store: staff pages that name attendees must not outlive the shift on a borrowed phone.
  return (
    response.ok &&
    response.status === 200 &&
    !response.redirected &&
    response.type === "basic" &&
    !/no-store/i.test(response.headers.get("Cache-Control") || "")
  );
}

function isPrivate(url) {
  return PRIVATE_PATHS.test(url.pathname);
}

async function purgePrivate() {
  const cache = await caches.open(RUNTIME_CACHE);
  const requests = await cache.keys();
  await Promise.all(requests.filter((request) => isPrivate(new URL(request.url))).map((request) => cache.delete(request)));
  // The phone's push subscription is the person's who signs out: end it, so whoever uses the
  // phone next gets none of their reminders (the server deletes the row at the push service's 410).
  // The offline queue: the session's token and what was sent go; waiting actions are marked not sent.
  await CompanionQueue.forgetPrivate().catch(() => undefined);
  const subscription = await self.registration.pushManager?.getSubscription().catch(() => null);
  if (subscription) await subscription.unsubscribe().catch(() => false);
}

// Save same-origin pages now (the badge page asks for itself and its QR code on every visit,
// so it works offline even before this worker first controlled it). Answers how many are saved.
async function savePages(urls) {
  const cache = await caches.open(RUNTIME_CACHE);
  let saved = 0;
  for (const href of urls) {
    const url = new URL(href, self.location.origin);
    if (url.origin !== self.location.origin) continue;
    if (await cache.match(url.href)) {
      saved += 1; // a page this worker controls was refreshed by networkFirst as it loaded
      continue;
    }
    try {
      const response = await fetch(url.href, { credentials: "same-origin" });
      if (isCacheable(response)) {
        await cache.put(url.href, response);
        saved += 1;
      }
    } catch {
      /* offline: nothing more to save */
    }
  }
  return saved;
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const reply = (value) => event.ports[0]?.postMessage(value);
  if (data.type === "purge-private") {
    event.waitUntil(purgePrivate().then(() => reply({ purged: true })));
  } else if (data.type === "save-private" && Array.isArray(data.urls)) {
    event.waitUntil(savePages(data.urls.slice(0, 10)).then((saved) => reply({ saved })));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && SIGN_OUT_PATHS.includes(url.pathname)) {
    event.waitUntil(purgePrivate()); // not answered here: the sign-out itself goes to the server
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname === "/api/v1/schedule") {
    event.respondWith(staleWhileRevalidate(event, request));
  } else if (isNetworkFirst(request, url)) {
    event.respondWith(networkFirst(event, request));
  } else if (isHashedAsset(url)) {
    event.respondWith(cacheFirst(request));
  }
});

async function networkFirst(event, request) {
  const network = fetch(request).then(async (response) => {
    if (isCacheable(response)) {
      const cache = await caches.open(RUNTIME_CACHE);
      await cache.delete(request); // re-inserted last: keys() lists the oldest first
      await cache.put(request, response.clone());
      await trim(cache);
    } else if ((response.redirected || response.type === "opaqueredirect") && isPrivate(new URL(request.url))) {
      // Sent to the sign-in page: this phone's session ended, so its saved copy goes too.
      const cache = await caches.open(RUNTIME_CACHE);
      await cache.delete(request);
    }
    return response;
  });
  event.waitUntil(network.catch(() => undefined));

  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, "timeout"));
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== "timeout") {
      // A server error from a struggling venue uplink: a saved copy is more useful.
      if (first.status >= 500) return (await fromRuntime(request)) || first;
      return first;
    }
    const saved = await fromRuntime(request);
    return saved || (await network);
  } catch (error) {
    const saved = await fromRuntime(request);
    if (saved) return saved;
    if (request.mode === "navigate") {
      const queued = await queueBoothScan(new URL(request.url));
      if (queued) return queued;
      // The shell's own pages (/offline, /queue) are precached.
      const shell = await caches.match(new URL(request.url).pathname, { cacheName: SHELL_CACHE });
      if (shell) return shell;
      const offline = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE });
      if (offline) return offline;
    }
    throw error;
  }
}

// A booth's QR opened by the camera app while offline: keep the stamp to send later (the server
// accepts it if the code was valid when scanned, within the grace staff set), and show the queue.
const BOOTH_PATH = /^\/h\/([^/]{1,300})$/;

async function queueBoothScan(url) {
  const match = BOOTH_PATH.exec(url.pathname);
  if (!match) return null;
  let code;
  try {
    code = decodeURIComponent(match[1]);
  } catch {
    return null; // not a code of ours: the offline page
  }
  const token = await CompanionQueue.recall("csrf").catch(() => null);
  if (!token) return null; // signed out on this phone: the offline page says what to do
  const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  await CompanionQueue.add({
    method: "POST",
    url: "/api/v1/hunt/stamps",
    body: { code, offline: true },
    csrf: token,
    label: `Booth code scanned at ${time}`,
    kind: "stamp",
    target: code.split(".")[0],
  });
  return Response.redirect("/queue", 303);
}

self.addEventListener("sync", (event) => {
  if (event.tag !== CompanionQueue.SYNC_TAG) return;
  event.waitUntil(CompanionQueue.replay().then((outcome) => {
    // Rejecting tells the browser to fire the sync again later, when it thinks we are online.
    if (outcome.offline) throw new Error(`${outcome.waiting} actions still waiting`);
  }));
});

// The whole schedule: the saved copy at once, then a conditional request with its ETag (a 304
// costs the venue Wi-Fi a few hundred bytes); a changed schedule replaces the copy for next time.
async function staleWhileRevalidate(event, request) {
  const cached = await fromRuntime(request);
  const refresh = (async () => {
    const headers = new Headers(request.headers);
    const etag = cached?.headers.get("ETag");
    if (etag) headers.set("If-None-Match", etag);
    const response = await fetch(request.url, { headers, credentials: "same-origin", cache: "no-store" });
    if (response.status === 304 && cached) return cached;
    if (isCacheable(response)) {
      const cache = await caches.open(RUNTIME_CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  })();
  event.waitUntil(refresh.catch(() => undefined));
  return cached || refresh;
}

async function trim(cache) {
  const keys = await cache.keys();
  for (const stale of keys.slice(0, Math.max(0, keys.length - MAX_RUNTIME_ENTRIES))) {
    await cache.delete(stale);
  }
}

function fromRuntime(request) {
  return caches.match(request, { cacheName: RUNTIME_CACHE });
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  try {
    const response = await fetch(request);
    if (isCacheable(response)) {
      const cache = await caches.open(SHELL_CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    // A saved page may name an asset of an older deployment: the current version will do.
    const fallback = await caches.match(request, { ignoreSearch: true });
    if (fallback) return fallback;
    throw error;
  }
}

// --- Push notifications ------------------------------------------------------------------------
// A push carries JSON {title, body, url, tag} (companion/push/services.py compose()): url is a
// path of this site (/sessions/AB12), and a newer message with the same tag replaces the older one.

// The app's 192 px icon, by the hashed URL the shell cache holds (so it shows offline too).
const NOTIFICATION_ICON = PRECACHE.find((url) => url.startsWith("/static/icons/icon-192.png?")) || "/static/icons/icon-192.png";
// Android draws the badge as a silhouette in the status bar: a white shape on transparency.
const NOTIFICATION_BADGE = PRECACHE.find((url) => url.startsWith("/static/icons/badge-96.png?")) || "/static/icons/badge-96.png";
const DEFAULT_NOTIFICATION_TITLE = "Conference Companion";
const DEFAULT_NOTIFICATION_BODY = "Something changed: open the app to see what.";

// A path of this site, or "/" for anything else (a push must not send people elsewhere).
function sitePath(value) {
  try {
    const url = new URL(typeof value === "string" && value ? value : "/", self.location.origin);
    return url.origin === self.location.origin ? url.pathname + url.search + url.hash : "/";
  } catch {
    return "/";
  }
}

function readPush(data) {
  if (!data) return {};
  try {
    const message = data.json();
    return message && typeof message === "object" && !Array.isArray(message) ? message : {};
  } catch {
    return { body: data.text().slice(0, 300) }; // not JSON: the text is all there is
  }
}

self.addEventListener("push", (event) => {
  const message = readPush(event.data);
  const title = typeof message.title === "string" && message.title.trim() ? message.title : DEFAULT_NOTIFICATION_TITLE;
  const options = {
    body: typeof message.body === "string" && message.body ? message.body : DEFAULT_NOTIFICATION_BODY,
    icon: NOTIFICATION_ICON,
    badge: NOTIFICATION_BADGE,
    data: { url: sitePath(message.url) },
  };
  if (typeof message.tag === "string" && message.tag) {
    options.tag = message.tag;
    options.renotify = true; // a moved session replaces its old alert, and still buzzes
  }
  // Every push must show a notification (userVisibleOnly): browsers revoke a site's push otherwise.
  event.waitUntil(self.registration.showNotification(title, options));
});

function withoutHash(href) {
  const url = new URL(href);
  url.hash = "";
  return url.href;
}

async function focusIfAllowed(client) {
  try {
    return await client.focus();
  } catch {
    return client; // focusing needs the tap that started this; without it the page still changed
  }
}

// The tapped notification's page: a window already showing it, else an open window of the app
// taken there, else a new window.
async function openNotificationPage(path) {
  const href = new URL(path, self.location.origin).href;
  const windows = (await self.clients.matchAll({ type: "window", includeUncontrolled: true }))
    .filter((client) => new URL(client.url).origin === self.location.origin);
  const showing = windows.find((client) => withoutHash(client.url) === withoutHash(href));
  if (showing) return focusIfAllowed(showing);
  // Only a window this worker controls can be navigated: try each, the focused one first.
  const candidates = windows.filter((client) => client.frameType !== "nested");
  candidates.sort((a, b) => Number(b.focused) - Number(a.focused));
  for (const client of candidates) {
    try {
      const navigated = await client.navigate(href);
      if (navigated) return focusIfAllowed(navigated);
    } catch {
      /* not controlled by this worker (opened before it took over): try the next, or a new window */
    }
  }
  return self.clients.openWindow(href);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openNotificationPage(sitePath(event.notification.data?.url)));
});

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

// The browser replaced this device's subscription (it expired, or the push service rotated it):
// subscribe again if the browser did not already, and tell the server. The old endpoint proves
// which device this is (POST /api/v1/push/subscriptions/renew needs no sign-in and no CSRF token).
async function renewSubscription(oldSubscription, newSubscription) {
  const oldEndpoint = oldSubscription?.endpoint;
  if (!oldEndpoint) return; // nothing to prove it with: the Notifications page turns it on again
  let subscription = newSubscription;
  if (!subscription) {
    let applicationServerKey = oldSubscription.options?.applicationServerKey;
    if (!applicationServerKey) {
      const response = await fetch("/api/v1/push/key", { credentials: "same-origin" });
      if (!response.ok) return;
      applicationServerKey = keyBytes((await response.json()).applicationServerKey);
    }
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  }
  await fetch("/api/v1/push/subscriptions/renew", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ old_endpoint: oldEndpoint, subscription: subscription.toJSON() }),
  });
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(renewSubscription(event.oldSubscription, event.newSubscription));
});
