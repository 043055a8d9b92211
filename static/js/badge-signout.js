// Signing out of this phone also removes the personal pages the service worker saved on it
// ("My badge" and its QR code, account and staff pages): the next person to pick up the phone
// must not find them offline. The form is held back until the worker says it has purged them
// (at most a second and a half), then sent. The worker also purges them when it sees the
// sign-out request go by, which covers pages without this module.

const SIGN_OUT_PATHS = ["/sign-out", "/sign-out-everywhere", "/me/delete"];
const PURGE_TIMEOUT_MS = 1500;

export async function purgePrivatePages() {
  if (!("serviceWorker" in navigator)) return false;
  const registration = await navigator.serviceWorker.getRegistration();
  const worker = registration?.active;
  if (!worker) return false;
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(true);
    worker.postMessage({ type: "purge-private" }, [channel.port2]);
    setTimeout(() => resolve(false), PURGE_TIMEOUT_MS);
  });
}

document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.purged) return;
    if (!SIGN_OUT_PATHS.includes(new URL(form.action, location.href).pathname)) return;
    event.preventDefault();
    form.dataset.purged = "1";
    purgePrivatePages()
      .catch(() => false)
      .finally(() => form.submit()); // submit() sends without another submit event
  },
  true,
);
