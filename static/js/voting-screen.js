// The results screen: the space bar, Enter, the right arrow or a click reveals the next place
// (third, then second, then the winner) without reloading; the link works without JavaScript.
const screen = document.querySelector("[data-voting-screen]");

function revealNext(event) {
  const hidden = screen.querySelector(".voting-place[hidden]");
  if (!hidden) return;
  event?.preventDefault();
  hidden.hidden = false;
  hidden.classList.add("is-revealed");
  const next = screen.querySelector("[data-next]");
  if (!screen.querySelector(".voting-place[hidden]")) next?.closest("p")?.remove();
  else if (next) next.href = `?shown=${screen.querySelectorAll(".voting-place:not([hidden])").length}`;
}

if (screen) {
  screen.querySelector("[data-next]")?.addEventListener("click", revealNext);
  document.addEventListener("keydown", (event) => {
    if ([" ", "Enter", "ArrowRight", "PageDown"].includes(event.key)) revealNext(event);
  });
}
