// The raffle's projector screen: polls the state every two seconds and shows each new winner
// after a short shuffle of entry codes (none when the viewer prefers reduced motion).
const screen = document.querySelector("[data-raffle-screen]");
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const SHUFFLE_MS = 2400;
const POLL_MS = 2000;

function randomCode() {
  const pick = () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return `${pick()}${pick()}${pick()}${pick()}-${pick()}${pick()}`;
}

function reducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

function winnerItem(winner) {
  const item = document.createElement("li");
  item.dataset.entry = winner.entry;
  const code = document.createElement("span");
  code.className = "raffle-screen-code";
  code.textContent = winner.entry;
  item.append(code);
  if (winner.name) {
    const name = document.createElement("span");
    name.className = "raffle-screen-name";
    name.textContent = ` ${winner.name}`;
    item.append(" ", name);
  }
  const claim = document.createElement("span");
  claim.className = "raffle-screen-claim";
  claim.textContent = `until ${winner.claim_by}`;
  item.append(" ", claim);
  return item;
}

// Shows a shuffling code in place of the winner, then the winner.
function reveal(list, winner) {
  const item = winnerItem(winner);
  if (reducedMotion()) {
    list.append(item);
    return Promise.resolve();
  }
  const shuffle = document.createElement("li");
  shuffle.className = "raffle-screen-shuffle";
  shuffle.setAttribute("aria-hidden", "true");
  list.append(shuffle);
  const started = performance.now();
  return new Promise((done) => {
    const tick = (now) => {
      if (now - started < SHUFFLE_MS) {
        shuffle.textContent = randomCode();
        requestAnimationFrame(tick);
        return;
      }
      shuffle.replaceWith(item);
      item.classList.add("is-revealed");
      done();
    };
    requestAnimationFrame(tick);
  });
}

let revealing = Promise.resolve();
// Winners shown or waiting for their shuffle: a poll during a shuffle must not queue one again.
const queued = new Set([...screen?.querySelectorAll("[data-winners] li[data-entry]") ?? []].map((li) => li.dataset.entry));

function show(state) {
  screen.dataset.state = state.state;
  const status = screen.querySelector("[data-status]");
  if (state.state === "open") status.textContent = `Draw at ${state.draw_at}. Complete today's hunt to enter!`;
  else if (state.state === "frozen") status.textContent = `${state.entries.toLocaleString("en")} entries. The draw is about to start.`;
  else status.textContent = `${state.winners.length === 1 ? "The winner" : "The winners"}: claim at ${state.claim_place}`;
  const commitment = screen.querySelector("[data-commitment]");
  if (state.commitment) {
    commitment.hidden = false;
    commitment.querySelector("code").textContent = state.commitment;
  }
  const list = screen.querySelector("[data-winners]");
  const wanted = new Set(state.winners.map((w) => w.entry));
  for (const entry of [...queued]) {
    if (!wanted.has(entry)) queued.delete(entry); // not claimed: a redraw replaces it
  }
  for (const item of list.querySelectorAll("li[data-entry]")) {
    if (!wanted.has(item.dataset.entry)) item.remove();
  }
  for (const winner of state.winners) {
    if (!queued.has(winner.entry)) {
      queued.add(winner.entry);
      revealing = revealing.then(() => (queued.has(winner.entry) ? reveal(list, winner) : undefined));
    }
  }
}

async function poll() {
  const offline = screen.querySelector("[data-offline]");
  try {
    const response = await fetch(screen.dataset.stateUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    show(await response.json());
    offline.hidden = true;
  } catch {
    offline.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

if (screen) setTimeout(poll, POLL_MS);
