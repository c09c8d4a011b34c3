// The event dialog's clip, checked as an investigator would use it; shared by browser.mjs (the
// embedded mode) and clip.mjs (a distributed service over S3).

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The open event's clip plays from the event's start (as the API places it: the event's media
// start less the clip's), the box shows at the best frame, the keys step and play.
export async function checkClip(page, dialog, name, { base, token, caseId, shot }) {
  const video = dialog.locator("video#clip");
  await video.waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector("video#clip");
    return v && v.readyState >= 2 && !v.seeking;
  }, null, { timeout: 60000 }).catch(async (e) => {
    throw new Error(`${name}: the clip does not play: ${await dialog.locator("figure.player").innerText()} (${e.message})`);
  });
  const id = await dialog.getAttribute("data-event");
  const headers = { Authorization: `Bearer ${token}`, "X-Canvass-Case": caseId, "X-Canvass-Purpose": "browser test" };
  const { event } = await (await fetch(`${base}/v1/events/${id}`, { headers })).json();
  const clipStart = Number((await fetch(`${base}/v1/events/${id}/clip`, { headers })).headers.get("X-Canvass-Clip-Start"));
  const expected = Math.max(0, event.media_start_us / 1e6 - clipStart);
  const state = await video.evaluate((v) => ({ t: v.currentTime, d: v.duration, w: v.videoWidth }));
  check(Math.abs(state.t - expected) < 0.05, `${name}: starts at ${state.t}, the event at ${expected}`);
  check(state.w > 0 && state.d >= event.media_end_us / 1e6 - clipStart - 0.2, `${name}: ${JSON.stringify(state)}`);
  await dialog.getByRole("button", { name: "Best frame" }).click();
  await page.waitForFunction(() => !document.querySelector("figure.player .bbox").hidden);
  const box = await dialog.locator("figure.player .bbox").boundingBox();
  const frame = await video.boundingBox();
  check(box && box.width > 4 && box.x >= frame.x - 1 && box.x + box.width <= frame.x + frame.width + 1, `${name}: the box is not on the video`);
  const span = await dialog.locator(".seekbar .span").boundingBox();
  check(span && span.width > 2, `${name}: the event's span is not marked`);
  await shot(`4-${name}-clip`);
  const before = await video.evaluate((v) => v.currentTime);
  await video.focus();
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction((t) => document.querySelector("video#clip").currentTime > t, before);
  await page.keyboard.press("Shift+ArrowLeft");
  await page.waitForFunction((t) => document.querySelector("video#clip").currentTime < t - 0.5, before);
  await page.keyboard.press(" ");
  await page.waitForFunction(() => !document.querySelector("video#clip").paused);
  await page.keyboard.press(" ");
  await page.waitForFunction(() => document.querySelector("video#clip").paused);
}

