// The service worker. companion/pwa.py serves it at /sw.js with a first line that defines
// VERSION (this deployment's asset version) and PRECACHE (the hashed app-shell URLs and /offline).
//
// Caches:
//   companion-shell-<VERSION>  the app shell, precached at install; dropped when VERSION changes.
//   companion-runtime-1        pages and schedule API answers, kept across deployments so what
//                              an attendee opened stays readable offline after an update.
// Strategies:
//   navigations, /api/v1/schedule, /api/v1/sessions/*, /schedule/tracks.css: network first
//     (with a timeout), copy into the runtime cache; on failure the cached copy, else for a page
//     the offline page.
//   /static/...?v=<hash>: cache first (the URL changes when the file does).
/* global VERSION, PRECACHE */

const SHELL_CACHE = `companion-shell-${VERSION}`;
const RUNTIME_CACHE = "companion-runtime-1";
const OFFLINE_URL = "/offline";
// After this long without an answer, a saved copy is shown while the network keeps trying.
const NETWORK_TIMEOUT_MS = 4000;

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
      .filter((url) => url.origin === self.location.origin && url.pathname !== OFFLINE_URL)
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
    url.pathname === "/api/v1/schedule" ||
    url.pathname.startsWith("/api/v1/sessions/") ||
    url.pathname === "/schedule/tracks.css"
  );
}

function isHashedAsset(url) {
  return url.pathname.startsWith("/static/") && url.searchParams.has("v");
}

function isCacheable(response) {
  // A redirected answer (a captive portal, a login page) must not stand in for the page asked for.
  return response.ok && response.status === 200 && !response.redirected && response.type === "basic";
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (isNetworkFirst(request, url)) {
    event.respondWith(networkFirst(event, request));
  } else if (isHashedAsset(url)) {
    event.respondWith(cacheFirst(request));
  }
});

async function networkFirst(event, request) {
  const network = fetch(request).then(async (response) => {
    if (isCacheable(response)) {
      const cache = await caches.open(RUNTIME_CACHE);
      await cache.put(request, response.clone());
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
      const offline = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE });
      if (offline) return offline;
    }
    throw error;
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
