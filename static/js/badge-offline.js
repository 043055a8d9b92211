// "My badge" must open at the door without a connection: ask the service worker to keep this
// page and its QR code now, even on the very first visit (before the worker controlled the page),
// and say so on the page once both are saved.

function ask(worker, message, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data);
    worker.postMessage(message, [channel.port2]);
    setTimeout(() => resolve(null), timeoutMs);
  });
}

export async function saveBadge(root) {
  if (!("serviceWorker" in navigator)) return false;
  const registration = await navigator.serviceWorker.ready;
  if (!registration.active) return false;
  const urls = [location.pathname, root.dataset.qrUrl];
  const answer = await ask(registration.active, { type: "save-private", urls });
  const saved = answer?.saved === urls.length;
  const status = root.querySelector("[data-offline-status]");
  if (status) status.hidden = !saved;
  return saved;
}

const badge = document.querySelector("[data-my-badge]");
if (badge) saveBadge(badge).catch((error) => console.warn("badge not saved for offline use:", error));
