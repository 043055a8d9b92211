// The Notifications page (templates/push/notifications.html): turn web push on or off for the
// phone in hand. Loaded by that page only.
//
// The page carries the server's VAPID public key (data-push-key) and the CSRF token (<meta
// name="csrf-token">). "Turn on" asks for permission (only ever from that tap: browsers, and
// iPhones above all, refuse a prompt that no tap started), subscribes through the service
// worker's PushManager and sends the subscription to POST /api/v1/push/subscriptions.
// "Turn off" unsubscribes in the browser, then tells DELETE /api/v1/push/subscriptions.
// On an iPhone or iPad, push works only in the app added to the Home Screen (iOS 16.4+): in
// Safari itself the page shows how to add it instead of the button.

const API = "/api/v1/push/subscriptions";
const READY_TIMEOUT_MS = 10000;
const DENIED_HELP =
  "Notifications are blocked for this site in your browser. To allow them, open the site settings " +
  "(tap the icon left of the address, then Permissions or Site settings; in the iPhone app: " +
  "Settings, Notifications, then this app), set Notifications to Allow, and tap the button again.";

const root = document.querySelector("[data-push]");
const key = root?.dataset.pushKey;

function $(selector) {
  return root.querySelector(selector);
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return true; // a browser that does not say: assume it is ours
  const have = new Uint8Array(buffer);
  return have.length === bytes.length && have.every((value, i) => value === bytes[i]);
}

function isAppleMobile() {
  // iPadOS Safari says it is a Mac; touch gives it away.
  return /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

// "on" or "off" for this phone: which button shows, and what the sentence above it says.
function showState(state, text) {
  $("[data-push-state]").textContent = text;
  $("[data-push-on]").hidden = state !== "off";
  $("[data-push-off]").hidden = state !== "on";
}

function say(text, isError = false) {
  const status = $("[data-push-status]");
  status.textContent = text;
  status.classList.toggle("is-error", isError);
}

function showDevices(count) {
  root.dataset.pushDevices = String(count);
  $("[data-push-count]").textContent =
    count === 0
      ? "None of your devices gets notifications yet."
      : count === 1
        ? "1 of your devices gets notifications."
        : `${count} of your devices get notifications.`;
}

function busy(on) {
  for (const button of root.querySelectorAll("button")) button.disabled = on;
}

async function problemDetail(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || `error ${response.status}`;
  } catch {
    return `error ${response.status}`;
  }
}

async function send(method, body) {
  return fetch(API, {
    method,
    headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json", Accept: "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
}

function serviceWorkerReady() {
  const timeout = new Promise((resolve) => setTimeout(resolve, READY_TIMEOUT_MS, null));
  return Promise.race([navigator.serviceWorker.ready, timeout]);
}

async function turnOn(registration) {
  // Asked before anything else is awaited, so the tap still counts as the reason for the prompt.
  const asking = Notification.permission === "granted" ? Promise.resolve("granted") : Notification.requestPermission();
  busy(true);
  say("Turning notifications on…");
  try {
    const permission = await asking;
    if (permission === "denied") {
      say(DENIED_HELP, true);
      return;
    }
    if (permission !== "granted") {
      say("You did not allow notifications. Tap the button again when you want them.", true);
      return;
    }
    const applicationServerKey = base64UrlToBytes(key);
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options?.applicationServerKey, applicationServerKey)) {
      await subscription.unsubscribe(); // made with an earlier server key: it cannot be reused
      subscription = null;
    }
    try {
      subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
    } catch (error) {
      say(`This browser could not turn notifications on (${error.message || error.name}). Try again, or try another browser.`, true);
      return;
    }
    let response;
    try {
      response = await send("POST", subscription.toJSON());
    } catch {
      say("Notifications are not on yet: the server could not be reached. Check your connection and tap the button again.", true);
      return;
    }
    if (response.status === 401) {
      say("You are signed out: sign in again, then turn notifications on.", true);
      return;
    }
    if (!response.ok) {
      say(`Notifications are not on yet: ${await problemDetail(response)}`, true);
      return;
    }
    const { devices } = await response.json();
    showDevices(devices);
    showState("on", "This phone gets notifications.");
    say("Notifications are on for this phone.");
  } finally {
    busy(false);
  }
}

async function turnOff(registration) {
  busy(true);
  say("Turning notifications off…");
  try {
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) await subscription.unsubscribe();
    showState("off", "This phone does not get notifications.");
    if (!subscription) {
      say("Notifications are off for this phone.");
      return;
    }
    let response;
    try {
      response = await send("DELETE", { endpoint: subscription.endpoint });
    } catch {
      response = null;
    }
    if (response?.ok) {
      showDevices((await response.json()).devices);
      say("Notifications are off for this phone.");
    } else {
      // The push service now refuses this device, and the server forgets it at its next message.
      say("Notifications are off for this phone. The server could not be told right now; it will find out by itself.");
    }
  } catch (error) {
    say(`This browser could not turn notifications off (${error.message || error.name}).`, true);
  } finally {
    busy(false);
  }
}

async function start() {
  if (!root || !key) return; // no key: the page says notifications are not set up
  const standalone = navigator.standalone; // iOS only: false in Safari, true in the Home Screen app
  const apple = standalone !== undefined || isAppleMobile();
  const hasPush = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (apple && (standalone === false || (!hasPush && standalone !== true))) {
    showState("ios", "");
    $("[data-push-state]").hidden = true;
    $("[data-push-ios]").hidden = false;
    return;
  }
  if (!hasPush) {
    showState("none", apple
      ? "Notifications need iOS or iPadOS 16.4 or later: update your iPhone or iPad, then come back here."
      : "This browser cannot show notifications from websites. Try Chrome, Firefox, Edge or Safari.");
    return;
  }
  const registration = await serviceWorkerReady();
  if (!registration) {
    showState("none", "This browser is not ready for notifications (its service worker did not start). Reload the page to try again.");
    return;
  }
  const subscription = await registration.pushManager.getSubscription();
  if (subscription && Notification.permission === "granted") {
    showState("on", "This phone gets notifications.");
  } else {
    showState("off", "This phone does not get notifications.");
    if (Notification.permission === "denied") say(DENIED_HELP, true);
  }
  $("[data-push-on]").addEventListener("click", () => turnOn(registration));
  $("[data-push-off]").addEventListener("click", () => turnOff(registration));
}

start();
