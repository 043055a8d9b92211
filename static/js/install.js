// "Add to home screen": the hint in templates/pwa/install_hint.html (every page of base.html).
//   Chromium (Android, desktop) fires beforeinstallprompt once the app can be installed: keep that
//   event and show an "Install app" button that opens the browser's own install dialog.
//   Safari on iPhone and iPad fires no such event: explain Share, then Add to Home Screen.
// Never shown in the installed app itself, nor again on this device after "Not now".

const DISMISSED_KEY = "companion-install-hint-dismissed";
const hint = document.querySelector("[data-install-hint]");

function isStandalone() {
  return window.matchMedia("(display-mode: standalone)").matches || window.navigator.standalone === true;
}

function wasDismissed() {
  try {
    return localStorage.getItem(DISMISSED_KEY) !== null;
  } catch {
    return false; // storage refused: offer it, "Not now" then lasts for this page
  }
}

function remember() {
  try {
    localStorage.setItem(DISMISSED_KEY, new Date().toISOString());
  } catch {
    /* storage refused: nothing to remember it in */
  }
}

// Safari on an iPhone or iPod, or an iPad (which asks for the Mac site: a Mac with a touch screen).
// Chrome, Firefox, Edge and Opera on iOS name themselves and have menus of their own.
function isIosSafari() {
  const agent = navigator.userAgent;
  const apple = /iPhone|iPad|iPod/.test(agent) || (/Macintosh/.test(agent) && navigator.maxTouchPoints > 1);
  return apple && /Safari\//.test(agent) && !/CriOS|FxiOS|EdgiOS|OPiOS|GSA\//.test(agent);
}

function show(kind) {
  hint.querySelector("[data-install-prompt]").hidden = kind !== "prompt";
  hint.querySelector("[data-install-button]").hidden = kind !== "prompt";
  hint.querySelector("[data-install-ios]").hidden = kind !== "ios";
  hint.hidden = false;
}

function hide() {
  const hadFocus = hint.contains(document.activeElement);
  hint.hidden = true;
  if (hadFocus) document.getElementById("main")?.focus(); // not lost on the page's body
}

function wanted() {
  return !isStandalone() && !wasDismissed();
}

if (hint) {
  let deferred = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    // This page's button, never the browser's own banner (nor again once the person said no:
    // Chromium offers once more right after its dialog was dismissed).
    event.preventDefault();
    if (!wanted()) return;
    deferred = event;
    show("prompt");
  });
  window.addEventListener("appinstalled", () => {
    deferred = null;
    hide();
  });
  hint.querySelector("[data-install-button]").addEventListener("click", async () => {
    const event = deferred;
    deferred = null; // an event's dialog opens once
    hide();
    if (!event) return;
    const choice = (await event.prompt().catch(() => null)) || (await event.userChoice.catch(() => null));
    if (choice?.outcome === "dismissed") remember();
  });
  hint.querySelector("[data-install-dismiss]").addEventListener("click", () => {
    remember();
    hide();
  });
  // The Notifications page explains Add to Home Screen itself (push needs it on iOS): not twice.
  if (isIosSafari() && wanted() && !document.querySelector("[data-push-ios]")) show("ios");
}
