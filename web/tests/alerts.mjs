// The alert banner and the owner's panic button in headless Chromium (tests/serve_live.rs runs
// this against `canvass serve` with a live RTSP camera whose owner has not shared it yet):
//   CANVASS_URL, CANVASS_TOKEN (an investigator of the camera's agency), CANVASS_OWNER_TOKEN,
//   CANVASS_SCREENSHOTS. Prints `banner after N ms` (from the confirming frame) and `ok`.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.CANVASS_URL;
const shots = process.env.CANVASS_SCREENSHOTS ?? "screenshots";
mkdirSync(shots, { recursive: true });
const check = (condition, message) => {
  if (!condition) throw new Error(message);
};

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const problems = [];
async function signedIn(token) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(base);
  await page.getByLabel("API token").fill(token);
  await page.keyboard.press("Enter");
  return page;
}

console.log("- investigator opens the page");
const investigator = await signedIn(process.env.CANVASS_TOKEN);
await investigator.getByLabel("Case number").fill("2026-0099");
await investigator.getByLabel("Purpose").fill("firearm alerts, north gate");
await investigator.getByRole("button", { name: "Start" }).click();
await investigator.getByLabel("Query").waitFor();

console.log("- the owner presses the panic button");
const owner = await signedIn(process.env.CANVASS_OWNER_TOKEN);
const share = owner.getByRole("button", { name: "Share live now (emergency)" });
await share.click();
await owner.getByRole("button", { name: "Stop live sharing" }).waitFor();
await owner.screenshot({ path: join(shots, "12-owner-live.png") });

console.log("- the banner arrives");
const banner = investigator.locator("#alerts .alert").first();
await banner.waitFor({ timeout: 60_000 });
const text = await banner.innerText();
check(/north-gate/.test(text) && /rule north-firearm/i.test(text), `banner: ${text}`);
await investigator.waitForFunction(() => {
  const img = document.querySelector("#alerts .alert img");
  return img && img.complete && img.naturalWidth > 0;
});
console.log(`banner after ${await banner.getAttribute("data-latency-ms")} ms`);
await investigator.screenshot({ path: join(shots, "11-alert.png") });
check((await investigator.locator("#alerts .alert").count()) === 1, "one banner per track");

console.log("- the live camera's health");
await investigator.getByRole("tab", { name: "Camera map" }).click();
const row = investigator.locator('#live-cameras tr[data-source="north-gate"]');
await row.waitFor();
check((await row.locator(".state").innerText()) === "streaming", `live camera: ${await row.innerText()}`);
await investigator.screenshot({ path: join(shots, "13-live-cameras.png"), fullPage: true });

console.log("- the owner stops sharing");
await owner.getByRole("button", { name: "Stop live sharing" }).click();
await owner.getByRole("button", { name: "Share live now (emergency)" }).waitFor();

await browser.close();
check(problems.length === 0, `console errors: ${problems.join("\n")}`);
console.log("ok");
