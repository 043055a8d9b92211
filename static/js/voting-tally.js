// The staff tally page: every five seconds, fetch the page again and swap in the live parts
// (totals, charts, tie notices, tables), leaving forms as they are (a reason being typed stays).
const tally = document.querySelector("[data-tally]");
const POLL_MS = 5000;

async function refresh() {
  try {
    const response = await fetch(window.location.pathname, { headers: { Accept: "text/html" }, cache: "no-store" });
    if (response.ok) {
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const part of fresh.querySelectorAll("[data-live]")) {
        const here = document.querySelector(`[data-live="${CSS.escape(part.dataset.live)}"]`);
        if (here && here.innerHTML !== part.innerHTML) here.replaceWith(document.importNode(part, true));
      }
    }
  } catch {
    /* offline for a moment: the next poll tries again */
  }
  setTimeout(refresh, POLL_MS);
}

if (tally) setTimeout(refresh, POLL_MS);
