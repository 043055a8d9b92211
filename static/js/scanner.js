// What the camera scanner pages share (the door's check-in, the hunt's booth codes): a QR
// detector, and the outcome shown in big letters with a coloured icon (green, amber, red).
// Decoding: the browser's own BarcodeDetector where it has one (Android Chrome), else the
// vendored barcode-detector polyfill (ZXing-C++ in WebAssembly, served from static/vendor/,
// loaded only when needed).

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
