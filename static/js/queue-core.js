// The offline action queue, shared by the pages (a classic <script>) and the service worker
// (importScripts): self.CompanionQueue.
//
// An action the person took (a star, a vote, a booth code, a check-in) is an API call kept in
// IndexedDB ("companion-offline", store "actions") with an Idempotency-Key made when they acted,
// and sent until the server answers: the server keeps the answer to each key, so however many
// times a flaky connection makes us send it, it takes effect once (companion/idempotency).
// Sending happens from Background Sync where the browser has it (the worker's "sync" event), and
// on reconnect, on app start and every 30 s from the pages otherwise; a Web Lock keeps two
// senders (two tabs, a tab and the worker) from sending one action at the same time.
//
// An action ends "sent" (with the server's message), "refused" (with the server's reason, e.g.
// "Voting closed at 19:00") or "corrupt" (an entry that cannot be an action: reported, skipped,
// never retried). Pages are told of every change on the BroadcastChannel "companion-queue".
/* eslint-env browser, serviceworker */
(function (scope) {
  "use strict";

  const DB_NAME = "companion-offline";
  const DB_VERSION = 1;
  const STORE = "actions";
  const META = "meta"; // {name, value}: the session's CSRF token, for actions the worker makes
  const SYNC_TAG = "companion-queue";
  const CHANNEL = "companion-queue";
  const METHODS = ["POST", "PUT", "PATCH", "DELETE"];
  // Answers after which sending again later may work: timeout, still processing, too many
  // requests; and every server error.
  const RETRY_STATUSES = [408, 409, 425, 429];
  const KEPT_FINISHED = 50; // finished actions shown in the list; older ones are forgotten
  const SEND_TIMEOUT_MS = 15000; // a request stalled on a dying network frees the queue after this
  // A server that has not answered for good after this many answers (5xx, 409, 429), or an
  // action this old (keys live 24 h on the server: after that a resend could act again), is
  // marked as not sent, with what to do.
  const MAX_ATTEMPTS = 40;
  const MAX_AGE_MS = 20 * 3600 * 1000;
  const GAVE_UP = "Not sent: the server did not answer it for good after many tries. Check whether it took effect, and do it again if not.";
  const SIGNED_OUT = "Not sent: this phone was signed out (or signed in as someone else) before it could be. Sign in and do it again.";

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore(STORE, { keyPath: "key" });
        store.createIndex("createdAt", "createdAt");
        request.result.createObjectStore(META, { keyPath: "name" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function withStore(mode, work, storeName = STORE) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction(storeName, mode);
        const result = work(transaction.objectStore(storeName));
        transaction.oncomplete = () => resolve(result && "result" in result ? result.result : result);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  function newKey() {
    if (scope.crypto?.randomUUID) return scope.crypto.randomUUID();
    const bytes = scope.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function announce(detail) {
    if (typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage(detail || { type: "changed" });
    channel.close();
  }

  // An entry is an action we can send only if every part is what add() stores: a same-origin
  // API path, a method that changes state, a string body (or none) and a key.
  function isAction(entry) {
    return Boolean(
      entry && typeof entry === "object" &&
      typeof entry.key === "string" && entry.key.length > 0 && entry.key.length <= 255 &&
      METHODS.includes(entry.method) &&
      typeof entry.url === "string" && entry.url.startsWith("/api/") && !entry.url.startsWith("//") &&
      (entry.body === null || typeof entry.body === "string") &&
      typeof entry.csrf === "string" &&
      typeof entry.label === "string" &&
      typeof entry.createdAt === "string",
    );
  }

  /**
   * Keep an action to send: {method, url, body (an object, sent as JSON, or null), csrf, label
   * (what the person did, as the list shows it), kind ("star", "vote", "stamp", "check-in"),
   * target (what it is about, e.g. the session code)}. Answers the stored entry.
   */
  async function add(action) {
    const entry = {
      key: action.key || newKey(),
      method: action.method,
      url: action.url,
      body: action.body == null ? null : JSON.stringify(action.body),
      csrf: action.csrf || "",
      label: action.label,
      kind: action.kind || "action",
      target: action.target == null ? null : String(action.target),
      createdAt: new Date().toISOString(),
      state: "pending",
      attempts: 0,
      result: null,
    };
    if (!isAction(entry)) throw new TypeError("not an action the queue can send");
    // The queue's own order (a phone's clock may jump when it reconnects): one more than the last.
    await withStore("readwrite", (store) => {
      const existing = store.getAll();
      existing.onsuccess = () => {
        entry.seq = existing.result.reduce((max, e) => Math.max(max, Number.isFinite(e?.seq) ? e.seq : 0), 0) + 1;
        store.put(entry);
      };
    });
    announce({ type: "added", key: entry.key });
    requestSync();
    return entry;
  }

  async function all() {
    const entries = await withStore("readonly", (store) => store.getAll());
    const order = (e) => (Number.isFinite(e?.seq) ? e.seq : Number.MAX_SAFE_INTEGER);
    return entries.sort((a, b) => order(a) - order(b) || String(a?.createdAt).localeCompare(String(b?.createdAt)));
  }

  async function save(entry) {
    await withStore("readwrite", (store) => store.put(entry));
    announce({ type: "changed", key: entry.key, state: entry.state });
  }

  async function remove(key) {
    await withStore("readwrite", (store) => store.delete(key));
    announce({ type: "changed", key });
  }

  // Ask the browser to wake the worker when the connection is back (Chromium's Background Sync);
  // elsewhere the pages send on "online" and on start.
  function requestSync() {
    const ready = scope.registration ? Promise.resolve(scope.registration) : scope.navigator?.serviceWorker?.ready;
    if (!ready) return;
    ready.then((registration) => registration.sync?.register(SYNC_TAG)).catch(() => undefined);
  }

  function problemText(status, body) {
    // Flask-WTF's refusal: the session that made the action is not this phone's any more.
    if (status === 400 && body && typeof body.detail === "string" && /CSRF/.test(body.detail)) return SIGNED_OUT;
    if (body && typeof body.detail === "string" && body.detail) return body.detail;
    if (status === 401) return "You were signed out before this was sent. Sign in and do it again.";
    if (status === 403) return "You are not allowed to do this.";
    return body && typeof body.title === "string" ? body.title : `Refused (${status}).`;
  }

  function successText(entry, body) {
    if (body && typeof body.message === "string" && body.message) return body.message;
    if (entry.kind === "star") return body && body.starred === false ? "Star removed." : "Starred.";
    if (entry.kind === "check-in" && body && body.attendee) {
      return body.already ? `Already checked in: ${body.attendee.name}` : `Checked in: ${body.attendee.name}`;
    }
    return "Sent.";
  }

  // Send one entry. Answers "done" (the server answered for good) or "later" (offline, or an
  // answer that says try again): then nothing after it is sent now, so actions keep their order.
  async function send(entry) {
    if (entry.attempts >= MAX_ATTEMPTS || Date.now() - Date.parse(entry.createdAt) > MAX_AGE_MS) {
      entry.state = "refused";
      entry.result = { status: entry.result?.status ?? null, message: GAVE_UP };
      await save(entry);
      return "done";
    }
    let response;
    try {
      response = await fetch(entry.url, {
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        method: entry.method,
        credentials: "same-origin",
        headers: {
          "Idempotency-Key": entry.key,
          "X-CSRFToken": entry.csrf,
          "Content-Type": "application/json",
          Accept: "application/json",
        },
        body: entry.body,
      });
    } catch {
      return "later"; // offline, or no answer in time: not counted, only the action's age is
    }
    const body = await response.json().catch(() => null);
    if (response.status >= 500 || RETRY_STATUSES.includes(response.status)) {
      entry.attempts += 1;
      entry.result = { status: response.status, message: problemText(response.status, body) };
      await save(entry);
      return "later";
    }
    entry.attempts += 1;
    entry.sentAt = new Date().toISOString();
    entry.state = response.ok ? "sent" : "refused";
    entry.result = {
      status: response.status,
      message: response.ok ? successText(entry, body) : problemText(response.status, body),
      body,
    };
    await save(entry);
    return "done";
  }

  async function sendPending() {
    const entries = await all();
    let sent = 0;
    let waiting = 0;
    for (const entry of entries) {
      if (!isAction(entry)) {
        if (entry && entry.state === "corrupt") continue;
        // Reported in the list and skipped: sending it again would fail the same way.
        const key = entry && typeof entry.key === "string" ? entry.key : null;
        if (key === null) continue; // IndexedDB cannot hold an entry without its key
        await save({ ...entry, state: "corrupt", result: { status: null, message: "This saved action was damaged and could not be sent. Do it again." } });
        continue;
      }
      if (entry.state !== "pending") continue;
      if ((await send(entry)) === "later") {
        waiting = (await all()).filter((e) => isAction(e) && e.state === "pending").length;
        return { sent, waiting, offline: true };
      }
      sent += 1;
    }
    await forgetOld();
    return { sent, waiting, offline: false };
  }

  async function forgetOld() {
    const finished = (await all()).filter((e) => e && e.state !== "pending");
    for (const entry of finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED))) await remove(entry.key);
  }

  /** Send every pending action, oldest first; answers {sent, waiting, offline}. */
  function replay() {
    const locks = scope.navigator?.locks;
    if (locks?.request) return locks.request("companion-queue", () => sendPending());
    return sendPending();
  }

  async function get(key) {
    return withStore("readonly", (store) => store.get(key));
  }

  /** The entry ``key`` once it is no longer pending, or null after ``waitMs``. */
  function settled(key, waitMs) {
    return new Promise((resolve) => {
      const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL);
      let timer = null;
      const finish = (entry) => {
        clearTimeout(timer);
        channel?.close();
        resolve(entry);
      };
      const check = async () => {
        const entry = await get(key).catch(() => null);
        if (entry && entry.state !== "pending") finish(entry);
      };
      if (channel) channel.onmessage = (event) => { if (event.data?.key === key) check(); };
      timer = setTimeout(() => finish(null), waitMs);
      check();
    });
  }

  /**
   * What a page does when the person acts: keep the action, send it now if there is a
   * connection, and answer {entry, final}: final is the entry once answered, or null if it is
   * still waiting (offline, or no answer within ``waitMs``): it goes when the connection is back.
   */
  async function act(action, waitMs = 8000) {
    const entry = await add(action);
    // One sending round (it stops at once when offline), or the wait, whichever ends first.
    const round = replay().catch(() => undefined);
    let timer;
    await Promise.race([round, new Promise((resolve) => { timer = setTimeout(resolve, waitMs); })]);
    clearTimeout(timer);
    const now = await get(entry.key).catch(() => null);
    return { entry, final: now && now.state !== "pending" ? now : null };
  }

  // The CSRF token of the signed-in session, kept by every page (queue-view.js): the worker
  // needs it to queue a booth code scanned through the camera app while offline.
  async function remember(name, value) {
    await withStore("readwrite", (store) => store.put({ name, value }), META);
  }

  async function forget(name) {
    await withStore("readwrite", (store) => store.delete(name), META);
  }

  /** Sign-out: drop the session's token and what was sent (its answers may name people checked
   * in); actions still waiting can never be sent now (the session's token dies with it): they
   * are marked so, and stay in the list for the person to see. */
  async function forgetPrivateNow() {
    await forget("csrf");
    for (const entry of await all()) {
      if (!entry) continue;
      if (entry.state === "sent") await remove(entry.key);
      else if (entry.state === "pending") await save({ ...entry, state: "refused", result: { status: null, message: SIGNED_OUT } });
    }
  }

  function forgetPrivate() {
    const locks = scope.navigator?.locks;
    if (locks?.request) return locks.request("companion-queue", () => forgetPrivateNow());
    return forgetPrivateNow();
  }

  async function recall(name) {
    const row = await withStore("readonly", (store) => store.get(name), META);
    return row ? row.value : null;
  }

  scope.CompanionQueue = { remember, recall, forgetPrivate, add, act, all, get, remove, replay, settled, newKey, isAction, SYNC_TAG, CHANNEL, DB_NAME, STORE };
})(self);
