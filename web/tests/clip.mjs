// One event's clip in headless Chromium against any running service: sign in, enter the case,
// search, open the first hit, check its player (clip-check.mjs). tests/distributed.rs runs it
// against a distributed service whose evidence is in S3, with CANVASS_URL, CANVASS_TOKEN,
// CANVASS_CASE, CANVASS_QUERY and CANVASS_SCREENSHOTS.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { checkClip } from "./clip-check.mjs";

const base = process.env.CANVASS_URL;
const token = process.env.CANVASS_TOKEN;
const caseId = process.env.CANVASS_CASE;
const shots = process.env.CANVASS_SCREENSHOTS ?? "screenshots";
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
const problems = [];
page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
page.on("pageerror", (e) => problems.push(String(e)));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });

await page.goto(base);
await page.getByLabel("API token").fill(token);
await page.keyboard.press("Enter");
await page.getByLabel("Case number").fill(caseId);
await page.getByLabel("Purpose").fill("browser test");
await page.getByRole("button", { name: "Start" }).click();
await page.getByLabel("Query").fill(process.env.CANVASS_QUERY);
await page.keyboard.press("Enter");
await page.locator("#status").filter({ hasText: /events?, showing/ }).waitFor();
await page.locator("#results .hit").first().focus();
await page.keyboard.press("Enter");
await checkClip(page, page.locator("dialog#detail"), "distributed", { base, token, caseId, shot });
await browser.close();
if (problems.length) throw new Error(`console errors: ${problems.join("\n")}`);
console.log("ok: the clip plays");
