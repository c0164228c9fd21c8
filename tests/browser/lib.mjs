// What every scenario shares: Debian's Chromium under Playwright, a phone or desktop page that
// fails on any request leaving the server under test, and screenshots by name.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BASE = process.env.TONGDANG_URL;
export const SHOTS = process.env.SCREENSHOTS || ".";
assert.ok(BASE, "TONGDANG_URL is not set");

export async function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** A page at this viewport that records every request that is not to the server under test. */
export async function openPage(browser, viewport) {
  const context = await browser.newContext({ viewport, locale: "zh-CN" });
  const page = await context.newPage();
  page.outside = [];
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(BASE) && !url.startsWith("data:") && !url.startsWith("blob:")) page.outside.push(url);
  });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  return page;
}

/** Screenshot a main page, after checking it against WCAG 2 A and AA with axe-core. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  await accessible(page, name);
}

const AXE = fileURLToPath(new URL("./node_modules/axe-core/axe.min.js", import.meta.url));

/** axe-core's WCAG 2 A/AA rules on the page as it is: labels, names, contrast, structure. */
export async function accessible(page, name) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const problems = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(problems, [], `${name}: accessibility problems`);
}

/** Calls to the API as a staff member (bearer token), for the other side of a scenario. */
export async function api(token, method, url, body) {
  const r = await fetch(BASE + url, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let data = null;
  try { data = JSON.parse(text); } catch (_) { data = text; }
  return { status: r.status, data };
}

/** Checks every page must pass: no script ran from data, no request left the server, no JS error. */
export async function clean(page) {
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "text from data was run as script");
  assert.deepEqual(page.outside, [], "a page requested something from outside the server");
  assert.deepEqual(page.errors, [], "a page threw");
}
