// The offline page: list the pages saved on this phone, with their titles.

const RUNTIME_CACHE = "companion-runtime-1";
const SKIP = /^\/(api|static|offline|schedule\/tracks\.css)/;

async function savedPages() {
  if (!("caches" in self) || !(await caches.has(RUNTIME_CACHE))) return [];
  const cache = await caches.open(RUNTIME_CACHE);
  const pages = [];
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    if (url.origin !== location.origin || SKIP.test(url.pathname)) continue;
    const response = await cache.match(request);
    const html = response ? await response.text() : "";
    // "Serving Models at Scale · Test Conf 2026": the conference's name is on every page.
    const title = new DOMParser().parseFromString(html, "text/html").title.replace(/ · [^·]*$/, "") || url.pathname;
    pages.push({ href: url.pathname + url.search, title });
  }
  const counts = new Map();
  for (const page of pages) counts.set(page.title, (counts.get(page.title) || 0) + 1);
  for (const page of pages) {
    const search = new URL(page.href, location.origin).search;
    // Two pages with one title (the schedule with and without filters): tell them apart.
    if (counts.get(page.title) > 1 && search) page.title += ` (${decodeURIComponent(search.slice(1)).replaceAll("&", ", ")})`;
  }
  return pages.sort((a, b) => a.title.localeCompare(b.title));
}

async function listSavedPages() {
  const list = document.querySelector("[data-saved-pages]");
  if (!list) return;
  const pages = await savedPages();
  if (!pages.length) return;
  list.replaceChildren(
    ...pages.map(({ href, title }) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = href;
      link.textContent = title;
      item.append(link);
      return item;
    }),
  );
}

listSavedPages();
