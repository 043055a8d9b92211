// The live count on /staff/check-in: every 30 s (and right after a scan), ask
// GET /api/v1/check-ins/stats and update the numbers; the server-drawn chart is reloaded when
// they changed. Paused while the page is hidden.

const POLL_MS = 30000;

export async function refreshStats(block) {
  const response = await fetch(block.dataset.statsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const stats = await response.json();
  for (const element of block.querySelectorAll("[data-stat]")) {
    const value = stats[element.dataset.stat];
    if (value !== undefined) element.textContent = String(value);
  }
  const chart = block.querySelector("[data-stats-chart]");
  const version = `${stats.checked_in}-${stats.per_hour.length}`;
  if (chart && chart.dataset.version !== version) {
    const url = new URL(stats.chart_url, location.href);
    url.searchParams.set("v", version);
    chart.dataset.version = version;
    chart.src = url.pathname + url.search;
    chart.alt = stats.per_hour.length
      ? `Check-ins per hour today: ${stats.per_hour.map((h) => `${h.hour}: ${h.count}`).join(", ")}.`
      : "Check-ins per hour today: none yet.";
  }
}

function start(block) {
  const chart = block.querySelector("[data-stats-chart]");
  if (chart) chart.dataset.version = new URL(chart.src).searchParams.get("v") || "";
  const refresh = () => refreshStats(block).catch(() => undefined); // offline: keep what is shown
  setInterval(() => {
    if (!document.hidden) refresh();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  document.addEventListener("companion:checked-in", refresh);
}

const block = document.querySelector("[data-checkin-stats]");
if (block) start(block);
