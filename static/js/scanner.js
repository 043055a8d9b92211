// What the camera scanner pages share (the door's check-in, the hunt's booth codes): a QR
// detector, and the outcome shown in big letters with a coloured icon (green, amber, red).
// Decoding: the browser's own BarcodeDetector where it has one (Android Chrome), else the
// vendored barcode-detector polyfill (ZXing-C++ in WebAssembly, served from static/vendor/,
// loaded when the camera starts, and fetched ahead into the worker's cache for offline use).

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

export async function createDetector(polyfillUrl, wasmUrl) {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) return new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch {
      /* fall through to the polyfill */
    }
  }
  if (!globalThis.BarcodeDetectionAPI) await loadScript(polyfillUrl);
  const api = globalThis.BarcodeDetectionAPI;
  // Never the CDN the library defaults to: the .wasm comes from this server (CSP, offline).
  await api.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
    fireImmediately: true,
  });
  return new api.BarcodeDetector({ formats: ["qr_code"] });
}

// The decoder's files, fetched while there is a connection: the service worker keeps hashed
// static files (cache first), so the camera still reads codes when the Wi-Fi drops later (the
// scans then wait in the offline queue). Only where the browser has no BarcodeDetector of its own.
// On a first visit the worker is still installing when this page runs: fetch once it takes control
// (it claims open pages on activation), or the files would stay uncached until the next page load.
function prefetchDecoder(root) {
  if ("BarcodeDetector" in window || !("serviceWorker" in navigator)) return;
  const fetchAhead = () => {
    for (const url of [root.dataset.polyfillUrl, root.dataset.wasmUrl]) {
      if (url) fetch(url, { credentials: "same-origin" }).catch(() => undefined);
    }
  };
  if (navigator.serviceWorker.controller) fetchAhead();
  else navigator.serviceWorker.addEventListener("controllerchange", fetchAhead, { once: true });
}

// The outcome: a banner with the icon of its kind (templates data-icon=ok|warn|error on the page).
export function showResult(root, kind, text, detail = "") {
  const box = root.querySelector("[data-scan-result]");
  const banner = document.createElement("div");
  banner.className = `notice checkin-result is-${kind}`;
  banner.dataset.resultKind = kind;
  const icon = root.querySelector(`template[data-icon="${kind}"]`);
  if (icon) banner.append(icon.content.cloneNode(true));
  const paragraph = document.createElement("p");
  paragraph.className = "checkin-result-text";
  const strong = document.createElement("strong");
  strong.textContent = text;
  paragraph.append(strong);
  if (detail) paragraph.append(` ${detail}`);
  banner.append(paragraph);
  box.replaceChildren(banner);
}

// The camera part of a scanner page: the rear camera into `video`, a QR decoded every
// `intervalMs`, and `onCode(code)` called for each code read (the same code again within
// `pauseMs` is ignored: a code held in front of the camera is sent once, not ten times a second).
// `start`/`stop` are the page's buttons; a hidden page stops the camera (a camera left running
// in a pocket drains the battery). `onCameraError(error)` says why the camera did not start.
// Returns { startCamera, stopCamera, running }.
export function cameraScanner({ root, video, start, stop, onCode, onCameraError, intervalMs = 150, pauseMs = 4000 }) {
  let stream = null;
  let timer = null;
  let busy = false;
  let last = { code: "", at: 0 };

  async function scanOnce(detector) {
    if (!stream || busy || video.readyState < 2) return;
    busy = true;
    try {
      const codes = await detector.detect(video);
      const code = codes[0]?.rawValue;
      const now = Date.now();
      if (code && !(code === last.code && now - last.at < pauseMs)) {
        last = { code, at: now };
        await onCode(code);
      }
    } catch (error) {
      console.warn("scan failed:", error);
    } finally {
      busy = false;
    }
  }

  function stopCamera() {
    clearInterval(timer);
    timer = null;
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  async function startCamera() {
    if (stream || start.disabled) return;
    start.disabled = true;
    try {
      const detector = await createDetector(root.dataset.polyfillUrl, root.dataset.wasmUrl);
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      start.hidden = true;
      stop.hidden = false;
      timer = setInterval(() => scanOnce(detector), intervalMs);
    } catch (error) {
      stopCamera();
      onCameraError(error);
      console.warn("camera:", error);
    } finally {
      start.disabled = false;
    }
  }

  start.addEventListener("click", startCamera);
  stop.addEventListener("click", stopCamera);
  prefetchDecoder(root);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && stream) stopCamera();
  });
  start.hidden = false;
  return { startCamera, stopCamera, running: () => stream !== null };
}
