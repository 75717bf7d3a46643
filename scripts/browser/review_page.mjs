// Drives the review page of a running cxr service in Debian's headless Chromium, as a
// person would: loads it, uploads a PNG (from the keyboard: focus the drop zone, Enter,
// pick the file), then a DICOM, then a garbage file, and reports what the page shows.
//
//   node scripts/browser/review_page.mjs BASE_URL PNG DICOM GARBAGE SCREENSHOT.png
//
// Prints one JSON object on stdout: per upload, the API's answer (captured from the
// page's own request) and what the page rendered (probabilities, gate text, overlay
// state, error text). The Rust test (crates/cxr-serve/tests/browser.rs) checks them.
import { chromium } from "playwright-core";

const [base, png, dcm, garbage, shot] = process.argv.slice(2);
if (!shot) {
  console.error("usage: review_page.mjs BASE_URL PNG DICOM GARBAGE SCREENSHOT.png");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  // Intercepting file choosers is switched on when a listener is added, asynchronously:
  // add one now, long before the key press, so that the press never beats it.
  page.on("filechooser", () => {});
  await page.goto(base + "/");
  await page.waitForSelector("#model table", { timeout: 20000 });
  out.model_line = await page.textContent("#model-line");
  out.runs_on = await page.textContent("#runs-on");
  out.notice = await page.textContent(".notice");
  out.trained_with = await page.evaluate(
    () => (document.getElementById("trained-with") || {}).textContent || null);

  const rendered = async () => page.evaluate(() => {
    const bars = [...document.querySelectorAll(".bar")].map((b) => ({
      class: b.dataset.class,
      probability: Number(b.querySelector(".value").dataset.probability),
      text: b.querySelector(".value").textContent,
      has_cutoff: !!b.querySelector(".cut"),
    }));
    const layer = (id) => {
      const el = document.getElementById(id);
      return { width: el.naturalWidth, opacity: Number(getComputedStyle(el).opacity) };
    };
    const err = document.getElementById("error");
    return {
      bars,
      verdict: (document.getElementById("verdict") || {}).textContent || null,
      cautions: (document.getElementById("cautions") || {}).textContent || null,
      near_cut: (document.getElementById("near-cut") || {}).textContent || null,
      base: layer("base"), mask: layer("mask"), heat: layer("heat"),
      error: err.classList.contains("hidden") ? null : err.textContent,
    };
  });
  const settle = () => page.waitForFunction(
    () => !document.getElementById("result").textContent.includes("Analysing"), null, { timeout: 60000 });

  // 1. A PNG, from the keyboard: focus the drop zone, Enter opens the file chooser.
  await page.focus("#drop");
  out.focused = await page.evaluate(() => document.activeElement.id);
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
  let [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/v1/predict")),
    chooser.setFiles(png),
  ]);
  out.png = { status: resp.status(), api: await resp.json() };
  await settle();
  await page.waitForFunction(() => document.getElementById("heat").naturalWidth > 0);
  out.png.page = await rendered();
  // The opacity slider and the toggles act on the layers.
  await page.fill("#opacity", "100");
  await page.dispatchEvent("#opacity", "input");
  out.png.opacity_full = await page.evaluate(() => Number(getComputedStyle(document.getElementById("mask")).opacity));
  await page.uncheck("#show-mask");
  out.png.mask_hidden = await page.evaluate(() => Number(getComputedStyle(document.getElementById("mask")).opacity));
  await page.check("#show-mask");
  await page.fill("#opacity", "60");
  await page.dispatchEvent("#opacity", "input");
  await page.screenshot({ path: shot, fullPage: true });
  await page.locator("#viewer").screenshot({ path: shot.replace(/\.png$/, "-viewer.png") });

  // 2. A DICOM file, through the file input.
  [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/v1/predict")),
    page.setInputFiles("#file", dcm),
  ]);
  out.dicom = { status: resp.status(), api: await resp.json() };
  await settle();
  out.dicom.page = await rendered();

  // 3. Garbage: the service's own error text must be shown.
  [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/v1/predict")),
    page.setInputFiles("#file", garbage),
  ]);
  out.garbage = { status: resp.status(), api: await resp.json() };
  await settle();
  out.garbage.page = await rendered();
  out.console_errors = consoleErrors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
