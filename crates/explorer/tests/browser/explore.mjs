// Browser tests of the coinrs explorer: headless Debian Chromium driven by playwright-core
// against a real coinrsd that the Rust harness (crates/node/tests/explorer, the ignored test
// `browser_navigates_searches_and_sees_live_updates`) started with a fork and an invalid
// block. The fixture comes in EXPLORER_FIXTURE (JSON). Every page is visited through the
// navigation and the search box, a block mined over JSON-RPC must show up without a reload,
// and a screenshot of each page is saved.

import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fx = JSON.parse(process.env.EXPLORER_FIXTURE || "{}");
if (!fx.url) {
  console.error("EXPLORER_FIXTURE is missing: run through cargo nextest (see crates/node/tests/explorer)");
  process.exit(2);
}
mkdirSync(fx.screenshots, { recursive: true });

let failures = 0;
function check(cond, what) {
  if (cond) {
    console.log(`ok   ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL ${what}`);
  }
}

async function rpc(method, params) {
  const r = await fetch(fx.url + "/", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: fx.auth },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const j = await r.json();
  if (j.error) { throw new Error(`${method}: ${JSON.stringify(j.error)}`); }
  return j.result;
}

async function shot(page, name) {
  await page.screenshot({ path: join(fx.screenshots, `${name}.png`), fullPage: true });
}

async function search(page, q) {
  await page.fill("form.search input[name=q]", q);
  await Promise.all([page.waitForNavigation(), page.press("form.search input[name=q]", "Enter")]);
}

const profile = mkdtempSync(join(tmpdir(), "coinrs-explorer-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 900 },
});
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  let dialogs = 0;
  page.on("dialog", async (d) => { dialogs += 1; await d.dismiss(); });

  // Home: tip, mining, tree, recent blocks.
  await page.goto(fx.url + "/");
  check(await page.textContent("#home-height") === "103", "home shows the tip height");
  check(await page.locator("#recent-blocks tbody tr").count() === 20, "home lists 20 recent blocks");
  check(await page.locator("svg.tree rect.blk").count() > 0, "home draws the block tree");
  await page.waitForFunction(() => document.getElementById("live-status").textContent === "live");
  check(true, "the live event stream connects");
  await shot(page, "home");

  // The tree through the navigation: active, stale and invalid blocks marked apart.
  await Promise.all([page.waitForNavigation(), page.click("nav >> text=Tree")]);
  check(page.url().endsWith("/tree"), "navigation reaches the tree");
  check(await page.locator(`a[href="/block/${fx.stale}"] rect.blk.stale`).count() === 1, "tree marks the stale block");
  check(await page.locator(`a[href="/block/${fx.invalid}"] rect.blk.invalid`).count() === 1, "tree marks the invalid block");
  check(await page.locator(`a[href="/block/${fx.tip}"] rect.blk.active`).count() === 1, "tree marks the active tip");
  await shot(page, "tree");

  // Clicking the invalid block in the picture opens its page.
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/block/${fx.invalid}"]`)]);
  check((await page.textContent("main")).includes("invalidateblock"), "the invalid block says why");
  await shot(page, "block-invalid");

  // The search box: a height, then a txid, an address, a hostile string.
  await search(page, "102");
  check(page.url().includes("/block/"), "searching a height opens its block");
  check((await page.textContent("main h1")) === "Block 102", "block page title");
  await shot(page, "block");

  await search(page, fx.paid);
  check(page.url().endsWith(`/tx/${fx.paid}`), "searching a txid opens the transaction");
  const input = page.locator("#inputs tbody tr a").first();
  const target = await input.getAttribute("href");
  check(/^\/tx\/[0-9a-f]{64}#out-\d+$/.test(target || ""), "an input links to the output it spends");
  await shot(page, "tx");
  await Promise.all([page.waitForNavigation(), input.click()]);
  const anchor = target.split("#")[1];
  check(await page.locator(`#${anchor}`).count() === 1, "the spent output is on the page it links to");
  check((await page.textContent(`#${anchor}`)).includes("spent"), "and it shows as spent");

  await search(page, fx.payee);
  check(page.url().endsWith(`/address/${fx.payee}`), "searching an address opens it");
  check((await page.textContent("#balance")) === "1.50000000", "the address shows its balance");
  check(await page.locator("#unspent tbody tr").count() === 1, "and its unspent output");
  await shot(page, "address");

  await search(page, "<script>alert(1)</script>");
  check((await page.textContent("main")).includes("<script>alert(1)</script>"), "a hostile query is shown as text");
  check(dialogs === 0, "and never runs");

  // Mempool and peers through the navigation.
  await Promise.all([page.waitForNavigation(), page.click("nav >> text=Mempool")]);
  check((await page.textContent("#mempool")).includes(fx.waiting.slice(0, 10)), "the mempool lists the waiting payment");
  await shot(page, "mempool");
  await Promise.all([page.waitForNavigation(), page.click("nav >> text=Peers")]);
  check((await page.textContent("#peer-count")) === "0", "the peers page counts connections");
  await shot(page, "peers");

  // Live: a block mined over JSON-RPC appears on the open home page and tree without a reload.
  await page.goto(fx.url + "/");
  await page.waitForFunction(() => document.getElementById("live-status").textContent === "live");
  await page.evaluate(() => { window.__sameDocument = true; });
  const [mined] = await rpc("generatetoaddress", [1, fx.miner]);
  await page.waitForFunction(() => document.getElementById("home-height").textContent === "104", null, { timeout: 15000 });
  check(await page.evaluate(() => window.__sameDocument === true), "the home page updated without a reload");
  check(await page.locator(`#recent-blocks a[href="/block/${mined}"]`).count() > 0, "the new block is in the recent list");
  check(await page.locator(`svg.tree a[href="/block/${mined}"] rect.blk.active`).count() === 1, "and in the tree, active");
  await shot(page, "home-live");

  // A phone: the home page fits its width.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(fx.url + "/");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the home page fits a phone's width (overflow ${overflow}px)`);
  await shot(page, "home-phone");

  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} catch (e) {
  failures += 1;
  console.log(`FAIL ${e.stack || e}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(failures === 0 ? "browser tests passed" : `${failures} browser check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
