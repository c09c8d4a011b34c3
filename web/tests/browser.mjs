// End-to-end test of the page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). tests/web_ui.rs starts `canvass serve` over real events and runs this with:
//   CANVASS_URL, CANVASS_TOKEN (an investigator), CANVASS_OWNER_TOKEN (a camera owner),
//   CANVASS_SCREENSHOTS (folder for one screenshot per view), CANVASS_CLIP (a video to upload).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { checkClip } from "./clip-check.mjs";

const base = process.env.CANVASS_URL;
const token = process.env.CANVASS_TOKEN;
const ownerToken = process.env.CANVASS_OWNER_TOKEN;
const shots = process.env.CANVASS_SCREENSHOTS ?? "screenshots";
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// A camera near the incident, registered by its owner through the API.
const registered = await fetch(`${base}/v1/cameras`, {
  method: "POST",
  headers: { Authorization: `Bearer ${ownerToken}`, "Content-Type": "application/json" },
  body: JSON.stringify({
    source_id: "opencv4nodejs_traffic", contact: "shop@example.org, 555-0100", lat: 51.5007, lon: -0.1246,
    address: "12 Main St", access: "request",
  }),
});
const registration = await registered.text();
check(registered.ok, `camera registration: ${registered.status} ${registration}`);
const cameraId = JSON.parse(registration).id;

// The case, and two footage requests to the camera's owner for it, made through the API.
const asInvestigator = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
const opened = await fetch(`${base}/v1/cases`, {
  method: "POST", headers: asInvestigator, body: JSON.stringify({ id: "2026-0042", title: "Hit and run, Main St" }),
});
check(opened.ok, `case: ${opened.status} ${await opened.text()}`);
for (const reason of ["white car at 10:02", "pedestrians at 10:05"]) {
  const to = new Date(Date.now() - 3600e3);
  const asked = await fetch(`${base}/v1/requests`, {
    method: "POST", headers: asInvestigator,
    body: JSON.stringify({ camera_id: cameraId, case: "2026-0042", from: new Date(to - 3600e3).toISOString(), to: to.toISOString(), reason }),
  });
  check(asked.ok, `request: ${asked.status} ${await asked.text()}`);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
const problems = [];
// The refused query (400) and the wrong token (401) are answers the page shows, not faults;
// so is the connection the test itself drops under an upload.
const expected = /status of 40[01]|ERR_CONNECTION_RESET/;
page.on("console", (m) => m.type() === "error" && !expected.test(m.text()) && problems.push(m.text()));
page.on("pageerror", (e) => problems.push(String(e)));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
const step = (name) => console.log(`- ${name}`);

step("sign in");
await page.goto(base);
await page.getByLabel("API token").fill("not-a-token");
await page.keyboard.press("Enter");
await page.getByText("That token is not valid.").waitFor();
await page.getByLabel("API token").fill(token);
await shot("1-sign-in");
await page.keyboard.press("Enter");

step("case and purpose");
await page.getByLabel("Case number").fill("2026-0042");
await page.getByLabel("Purpose").fill("hit and run, Main St");
await shot("2-case");
await page.getByRole("button", { name: "Start" }).click();

step("search white car");
await page.getByLabel("Query").fill("white car");
await page.keyboard.press("Enter");
await page.locator("#status").filter({ hasText: /events?, showing/ }).waitFor();
const cards = page.locator("#results .hit");
check((await cards.count()) > 0, "white car: no results");
await page.waitForFunction(() => [...document.querySelectorAll("#results img")].some((i) => i.complete && i.naturalWidth > 0));
const labels = await page.locator("#results .label").allInnerTexts();
// Colours are soft: a car that is partly white is found too, ranked below the clearly white.
check(/white/i.test(labels[0]) && labels.every((l) => /car/i.test(l)), `not white cars first: ${labels}`);
const read = await page.locator("#understood").innerText();
check(/what: car/.test(read) && /colour: white/.test(read), `the page does not say how it read the query: ${read}`);
await shot("3-search");

step("event detail");
await cards.first().focus();
await page.keyboard.press("Enter");
const dialog = page.locator("dialog#detail");
await checkClip(page, dialog, "event", { base, token, caseId: "2026-0042", shot });
await dialog.getByText(/Other sightings/).waitFor();
await shot("4-event");
await page.keyboard.press("Escape");
check(!(await dialog.isVisible()), "Escape does not close the event");

step("timeline");
await page.getByRole("tab", { name: "Timeline" }).click();
await page.locator("#timeline tr").first().waitFor();
check((await page.locator("#timeline th").allInnerTexts()).includes("opencv4nodejs_traffic"), "camera missing from the timeline");
await shot("5-timeline");

step("camera map");
await page.getByRole("tab", { name: "Camera map" }).click();
await page.locator("#camera-list td").first().waitFor();
await page.getByLabel("Incident latitude").fill("51.5010");
await page.getByLabel("longitude").fill("-0.1240");
await page.getByLabel("within (m)").fill("500");
await page.getByRole("button", { name: "Find cameras" }).click();
await page.locator("#camera-status").filter({ hasText: "within 500 m" }).waitFor();
check((await page.locator("#camera-list").innerText()).includes("shop@example.org"), "no contact in the camera list");
check((await page.locator("#map path.leaflet-interactive").count()) >= 2, "no points on the map");
await shot("6-camera-map");

step("a refused query says why");
await page.getByRole("tab", { name: "Search" }).click();
await page.getByLabel("Query").fill("bearded man");
await page.keyboard.press("Enter");
const refusal = page.locator("#status.error");
await refusal.waitFor();
check(/refused/i.test(await refusal.innerText()), `refusal: ${await refusal.innerText()}`);
await shot("7-refused");

step("nothing in range says so");
await page.getByLabel("Query").fill("white car before:2001-01-01");
await page.keyboard.press("Enter");
await page.locator("#status").filter({ hasText: "Nothing found" }).waitFor();

step("upload evidence to the case, through a dropped connection");
let patches = 0;
page.on("request", (r) => r.method() === "PATCH" && r.url().includes("/v1/uploads/") && patches++);
await page.route("**/v1/uploads/*", async (route) => {
  if (route.request().method() !== "PATCH") return route.continue();
  // The first chunk's connection drops: the upload must resume from what the server has.
  await route.abort("connectionreset");
  await page.unroute("**/v1/uploads/*");
});
await page.getByRole("tab", { name: "Case" }).click();
await page.locator("#case-heading").filter({ hasText: "Case 2026-0042" }).waitFor();
await page.setInputFiles("#evidence-file", process.env.CANVASS_CLIP);
await page
  .locator("#case-status")
  .filter({ hasText: "stored as evidence" })
  .waitFor({ timeout: 60000 })
  .catch(async (e) => {
    const said = await page.locator("#case-status").allInnerTexts();
    const rows = await page.locator("#evidence tr").count();
    throw new Error(`upload: status ${JSON.stringify(said)}, ${rows} evidence rows, ${patches} PATCHes (${e.message})`);
  });
check(patches >= 2, "the upload did not resume after the dropped connection");
await page.locator("#evidence td.hash").first().waitFor();
await page.locator('#jobs tr[data-state="done"]').waitFor({ timeout: 240000 });
const bar = page.locator('#jobs tr[data-state="done"] progress');
check((await bar.getAttribute("value")) === (await bar.getAttribute("max")), "a done job's bar is not full");
await shot("9-case");

step("the upload is searchable by case");
await page.getByRole("tab", { name: "Search" }).click();
await page.getByLabel("Query").fill("firearm case:2026-0042");
await page.keyboard.press("Enter");
await page.locator("#status").filter({ hasText: /events?, showing/ }).waitFor();
check((await page.locator("#results .hit").count()) > 0, "the uploaded clip's firearm is not found");
await page.locator("#results .hit").first().focus();
await page.keyboard.press("Enter");
await checkClip(page, dialog, "uploaded-evidence", { base, token, caseId: "2026-0042", shot });
await page.keyboard.press("Escape");

step("the camera owner answers one request with footage and declines the other");
const ownerPage = await browser.newPage({ viewport: { width: 1366, height: 768 } });
ownerPage.on("pageerror", (e) => problems.push(String(e)));
await ownerPage.goto(base);
await ownerPage.getByLabel("API token").fill(ownerToken);
await ownerPage.keyboard.press("Enter");
await ownerPage.locator("#owner-status").filter({ hasText: "2 requests" }).waitFor();
check(!(await ownerPage.locator("#requests").innerText()).includes("2026-0042"), "the owner sees the case");
const [first, second] = await ownerPage.locator("article.request").all();
await first.locator('input[type="file"]').setInputFiles(process.env.CANVASS_CLIP);
await ownerPage.locator("article.request .state").filter({ hasText: /^answered/ }).waitFor({ timeout: 60000 });
await second.locator("input:not([type])").fill("recording was off that day");
await second.getByRole("button", { name: "Decline" }).click();
await ownerPage.locator("article.request .state").filter({ hasText: "declined: recording was off" }).waitFor();
await ownerPage.screenshot({ path: join(shots, "10-owner.png") });
await page.getByRole("tab", { name: "Case" }).click();
await page.locator("#case-requests").filter({ hasText: "answered" }).waitFor();
check((await page.locator("#case-requests").innerText()).includes("declined"), "the investigator does not see the decline");

step("large monitor");
await page.setViewportSize({ width: 2560, height: 1440 });
await page.getByRole("tab", { name: "Search" }).click();
await page.getByLabel("Query").fill("car");
await page.keyboard.press("Enter");
await page.locator("#status").filter({ hasText: /showing/ }).waitFor();
await shot("8-search-2560");

await browser.close();
check(problems.length === 0, `console errors: ${problems.join("\n")}`);
console.log(`ok: screenshots in ${shots}`);
