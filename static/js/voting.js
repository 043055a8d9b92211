// The vote buttons of a poster's page (templates/voting/poster.html): each is a form that works
// without JavaScript (POST, then back here). Here the vote goes through the offline queue
// (static/js/queue-core.js) as PUT /api/v1/votes/<category>: with a connection the answer shows
// at once; without one the vote is kept on this phone, sent once when the connection is back,
// and its answer (say, "Voting closed at 19:00") shows here and on /queue.

const queue = self.CompanionQueue;
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const DAY_MS = 24 * 3600 * 1000;

function statusOf(form) {
  return form.closest("[data-category]")?.querySelector("[data-vote-status]");
}

function say(form, text, kind) {
  const status = statusOf(form);
  if (!status) return;
  status.textContent = text;
  status.dataset.kind = kind;
}

// The page as the server would draw it after the vote: "Your vote for <category> is this
// poster.", and no button (the other categories' forms stay).
function showMyVote(form) {
  const box = form.closest("[data-category]");
  box?.querySelector("[data-my-vote-elsewhere]")?.remove();
  if (box && !box.querySelector("[data-my-vote]")) {
    const mine = document.createElement("p");
    mine.dataset.myVote = "";
    const strong = document.createElement("strong");
    strong.textContent = `Your vote for ${form.dataset.categoryName}`;
    mine.append(strong, " is this poster.");
    box.prepend(mine);
  }
  form.remove();
}

function settle(form, entry) {
  if (entry.state === "sent") {
    say(form, entry.result?.message || "Your vote was counted.", "sent");
    showMyVote(form);
  } else {
    say(form, entry.result?.message || "Your vote was not accepted.", "refused");
    form.querySelector("button").disabled = false;
  }
}

async function vote(form) {
  const button = form.querySelector("button");
  button.disabled = true;
  const { entry, final } = await queue.act({
    method: "PUT",
    url: `/api/v1/votes/${encodeURIComponent(form.dataset.voteCategory)}`,
    body: { poster: form.dataset.poster },
    csrf,
    label: form.dataset.label,
    kind: "vote",
    target: `${form.dataset.voteCategory}:${form.dataset.poster}`,
  }, 5000);
  if (final) {
    settle(form, final);
    return;
  }
  say(form, "No connection: your vote is kept on this phone and sent when you are back online.", "pending");
  const later = await queue.settled(entry.key, DAY_MS);
  if (later) settle(form, later);
}

if (queue && csrf) {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-vote-form]")) return;
    event.preventDefault();
    vote(form);
  });
  // A vote made here earlier and still waiting: say so.
  queue.all().then((entries) => {
    for (const form of document.querySelectorAll("[data-vote-form]")) {
      const target = `${form.dataset.voteCategory}:${form.dataset.poster}`;
      const waiting = entries.find((e) => e?.kind === "vote" && e.state === "pending" && e.target === target);
      if (!waiting) continue;
      say(form, "No connection: your vote is kept on this phone and sent when you are back online.", "pending");
      form.querySelector("button").disabled = true;
      queue.settled(waiting.key, DAY_MS).then((final) => final && settle(form, final));
    }
  }, () => undefined);
}
