// Every page: send what the offline queue (static/js/queue-core.js) holds, and show it.
//
// - The header's indicator ([data-queue-indicator]) says how many actions wait to be sent, or
//   that some were refused, and links to the list. Hidden when there is nothing to tell.
// - The list on /queue ([data-queue-list]) shows each action: what, when, and its state:
//   waiting, sent (with the server's answer), refused (with the reason) or damaged.
// - Sending: now, when the connection comes back, when the page is shown again, and every 30 s
//   while something waits (browsers without Background Sync rely on this).

const queue = self.CompanionQueue;
const RETRY_MS = 30000;
const SEEN_KEY = "companion.queue.seen"; // the newest refusal the person has looked at

const STATE_TEXT = {
  pending: "Waiting to be sent",
  sent: "Sent",
  refused: "Not accepted",
  corrupt: "Damaged: skipped",
};

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function seen() {
  try {
    return localStorage.getItem(SEEN_KEY) || "";
  } catch {
    return "";
  }
}

function markSeen(entries) {
  const newest = entries.filter((e) => e?.state === "refused" || e?.state === "corrupt").map((e) => e.sentAt || e.createdAt || "").sort().pop();
  try {
    if (newest) localStorage.setItem(SEEN_KEY, newest);
  } catch {
    /* storage blocked: the indicator shows the refusal again, no harm */
  }
}

function renderIndicator(entries) {
  const indicator = document.querySelector("[data-queue-indicator]");
  if (!indicator) return;
  const waiting = entries.filter((e) => e?.state === "pending").length;
  const lastSeen = seen();
  const refused = entries.filter((e) => (e?.state === "refused" || e?.state === "corrupt") && (e.sentAt || e.createdAt || "") > lastSeen).length;
  const parts = [];
  if (waiting) parts.push(`${plural(waiting, "action", "actions")} waiting to be sent`);
  if (refused) parts.push(`${plural(refused, "action", "actions")} not accepted`);
  indicator.hidden = parts.length === 0;
  indicator.classList.toggle("is-refused", refused > 0);
  const text = indicator.querySelector("[data-queue-indicator-text]");
  if (text) text.textContent = parts.join(", ");
}

function renderList(entries) {
  const list = document.querySelector("[data-queue-list]");
  if (!list) return;
  const empty = document.querySelector("[data-queue-empty]");
  if (empty) empty.hidden = entries.length > 0;
  const newestFirst = [...entries].reverse();
  list.replaceChildren(...newestFirst.map((entry) => {
    const item = document.createElement("li");
    item.className = `queue-item queue-${entry?.state || "corrupt"}`;
    item.dataset.queueItem = entry?.key || "";
    item.dataset.state = entry?.state || "corrupt";
    const title = document.createElement("p");
    title.className = "queue-label";
    title.textContent = typeof entry?.label === "string" ? entry.label : "An action saved on this phone";
    const state = document.createElement("p");
    state.className = "queue-state";
    state.dataset.queueState = "";
    const at = when(entry?.createdAt);
    state.textContent = `${STATE_TEXT[entry?.state] || STATE_TEXT.corrupt}${at ? ` · ${at}` : ""}`;
    item.append(title, state);
    if (entry?.result?.message) {
      const message = document.createElement("p");
      message.className = "queue-message";
      message.dataset.queueMessage = "";
      message.textContent = entry.result.message;
      item.append(message);
    }
    return item;
  }));
  const clear = document.querySelector("[data-queue-clear]");
  if (clear) clear.hidden = !entries.some((e) => e?.state !== "pending");
  markSeen(entries);
}

async function render() {
  const entries = await queue.all().catch(() => []);
  renderList(entries);
  renderIndicator(entries);
  return entries;
}

let sending = null;
async function sendNow() {
  if (!sending) {
    sending = queue.replay().catch(() => undefined).finally(() => { sending = null; });
  }
  await sending;
  return render();
}

function start() {
  if (!queue || !("indexedDB" in self)) return;
  if (typeof BroadcastChannel !== "undefined") {
    new BroadcastChannel(queue.CHANNEL).onmessage = () => render();
  }
  document.querySelector("[data-queue-send]")?.addEventListener("click", () => sendNow());
  document.querySelector("[data-queue-clear]")?.addEventListener("click", async () => {
    for (const entry of await queue.all()) if (entry?.state !== "pending") await queue.remove(entry.key);
    render();
  });
  window.addEventListener("online", () => sendNow());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") sendNow();
  });
  setInterval(async () => {
    const entries = await queue.all().catch(() => []);
    if (entries.some((e) => e?.state === "pending")) sendNow();
  }, RETRY_MS);
  // Signed in: the worker may queue a booth code the camera app opened offline (/h/...) with
  // this session's token.
  // Never "" from a saved copy made while signed out: signing out forgets the token (sw.js).
  const token = document.querySelector('meta[name="csrf-token"]')?.content;
  if (token) queue.remember("csrf", token).catch(() => undefined);
  render().then(() => sendNow());
}

start();
