// Every page: register the service worker, which keeps the pages you open readable offline.
// (Each module is loaded by its own hashed <script type="module"> tag in base.html: a relative
// import would ask for an unhashed URL, which browsers cache for a year.)

export async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (error) {
    // No service worker (private mode, an old browser): the site still works online.
    console.warn("service worker not registered:", error);
    return null;
  }
}

registerServiceWorker();
