import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { PASSWORD, hydrated, nearestStarterRef, register, uniqueEmail } from "./helpers";

/** An access token for `email` from the REST API. */
async function apiToken(request: APIRequestContext, email: string): Promise<string> {
  const response = await request.post("/api/v1/auth/login", { data: { email, password: PASSWORD } });
  expect(response.status()).toBe(200);
  return (await response.json()).access_token;
}

/** Queues a generation through the REST API and waits until the in-process worker made it. */
async function generated(request: APIRequestContext, token: string, prompt: string): Promise<string[]> {
  const headers = { Authorization: `Bearer ${token}` };
  const response = await request.post("/api/v1/images/generate", { headers, data: { prompt, steps: 4 } });
  expect(response.status()).toBe(202);
  const jobId = (await response.json()).job.job_id;
  let job: { status: string; image_ids: string[] } = { status: "queued", image_ids: [] };
  await expect
    .poll(async () => {
      job = await (await request.get(`/api/v1/jobs/${jobId}`, { headers })).json();
      return job.status;
    }, { timeout: 60_000 })
    .toBe("completed");
  return job.image_ids;
}

/**
 * Records every value the progress bar takes from now on, in the page itself: a MutationObserver
 * sees each update the event stream causes, however quickly they follow each other, where polling
 * from the test would miss the steps of a model that makes an image in a fraction of a second.
 */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { progressSeen: number[] }).progressSeen = seen;
    const read = () => {
      const bar = document.querySelector("[data-testid='progress-bar']");
      if (!bar) return;
      const value = Number(bar.getAttribute("value"));
      if (seen[seen.length - 1] !== value) seen.push(value);
    };
    new MutationObserver(read).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["value"],
    });
  });
}

/** Waits until the recorded job finishes; returns the progress values seen and the bar's maximum. */
async function progressSeen(page: Page): Promise<{ values: number[]; max: number }> {
  const status = page.getByTestId("job-progress");
  await expect(status).toHaveAttribute("data-status", /^(completed|failed|cancelled)$/, { timeout: 60_000 });
  const values = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
  const max = Number(await page.getByTestId("progress-bar").getAttribute("max"));
  return { values, max };
}

test("an image generated in the browser shows live progress and lands in the gallery with its parameters", async ({ page }) => {
  test.setTimeout(90_000);
  await register(page, uniqueEmail("painter"), "Paula Painter");
  await page.goto("/generate");
  await hydrated(page);
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 100 images");
  // The starter model is a fresh install's default, at its own size; a Free plan cannot batch.
  await expect(page.getByTestId("model")).toHaveValue("starter-emoji");
  await expect(page.getByTestId("width")).toHaveValue("64");
  await expect(page.getByTestId("batch")).toBeDisabled();
  await expect(page.getByTestId("batch-hint")).toHaveText("Batches need Pro");
  await expect(page.getByTestId("width").locator("option[value='1024']")).toBeDisabled();
  await expect(page.getByTestId("save-preset")).toBeDisabled();
  await expect(page.getByTestId("save-preset")).toHaveText("Save as preset (needs Pro)");

  await page.getByTestId("prompt").fill("a penguin");
  await page.getByTestId("randomise").uncheck();
  await page.getByTestId("seed").fill("1234");
  await page.getByTestId("steps").fill("30");
  await recordProgress(page);
  const clicked = Date.now();
  await page.getByTestId("generate").click();

  const { values, max } = await progressSeen(page);
  console.log(`progress values seen: ${values.join(", ")}`);
  await expect(page.getByTestId("job-progress")).toHaveAttribute("data-status", "completed");
  expect(max).toBe(30);
  expect(values[values.length - 1]).toBe(30);
  // The bar moved through an intermediate step, not straight from empty to full. (How many depends
  // on the machine: the worker writes progress at most every 150 ms, and the starter model makes
  // 30 steps in about a third of a second.)
  expect(values.filter((v) => v > 0 && v < 30).length).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId("result")).toHaveCount(1);
  await expect(page.getByTestId("quota-label")).toHaveText("1 / 100 images");

  await page.getByTestId("open-gallery").click();
  await expect(page).toHaveURL(/\/gallery$/);
  await expect(page.getByTestId("image-card")).toHaveCount(1);
  console.log(`click on Generate → image in the gallery: ${((Date.now() - clicked) / 1000).toFixed(2)} s`);
  const thumbnail = page.getByTestId("image-card").locator("img");
  await expect(thumbnail).toHaveJSProperty("complete", true);
  expect(await thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(64);
  // It is a penguin: nearer the training set's penguin than the other reference pictures.
  expect(await nearestStarterRef(page, await thumbnail.evaluate((img: HTMLImageElement) => img.src))).toBe("penguin");

  await page.getByTestId("image-link").click();
  await expect(page.getByTestId("param-prompt")).toHaveText("a penguin");
  await expect(page.getByTestId("param-seed")).toHaveText("1234");
  await expect(page.getByTestId("param-steps")).toHaveText("30");
  await expect(page.getByTestId("param-size")).toHaveText("64 × 64");

  // "Use these settings" fills the form with them.
  await page.getByTestId("use-settings").click();
  await expect(page).toHaveURL(/\/generate\?from=/);
  await expect(page.getByTestId("prompt")).toHaveValue("a penguin");
  await expect(page.getByTestId("seed")).toHaveValue("1234");
  await expect(page.getByTestId("steps")).toHaveValue("30");
});

test("gallery images can be starred, moved to a board that is then renamed, and deleted", async ({ page, request }) => {
  test.setTimeout(90_000);
  const email = uniqueEmail("curator");
  await register(page, email, "Cora Curator");
  const token = await apiToken(request, email);
  await generated(request, token, "a penguin on ice");
  await generated(request, token, "a penguin in the sea");

  await page.goto("/gallery");
  await hydrated(page);
  const cards = page.getByTestId("image-card");
  await expect(cards).toHaveCount(2);
  // Newest first.
  await expect(cards.first().locator(".caption")).toHaveText("a penguin in the sea");

  await cards.first().getByTestId("star").click();
  await expect(cards.first()).toHaveAttribute("data-starred", "true");
  await page.getByTestId("starred-filter").check();
  await expect(cards).toHaveCount(1);
  await page.getByTestId("starred-filter").uncheck();
  await expect(cards).toHaveCount(2);

  await page.getByTestId("new-board-name").fill("Sea birds");
  await page.getByTestId("create-board").click();
  await expect(page.getByTestId("board")).toHaveText(/Sea birds/);
  const boardId = await page.getByTestId("board-filter").locator("option", { hasText: "Sea birds" }).getAttribute("value");
  await cards.last().getByTestId("move-to-board").selectOption(boardId!);
  await page.getByTestId("board-filter").selectOption(boardId!);
  await expect(cards).toHaveCount(1);
  await expect(cards.first().locator(".caption")).toHaveText("a penguin on ice");
  await page.getByTestId("board-filter").selectOption("");
  await expect(cards).toHaveCount(2);

  // Renamed in place: the board list, the filter and every card's "move to" follow.
  await page.getByTestId("rename-board").click();
  await page.getByTestId("board-name-input").fill("Penguins at sea");
  await page.getByTestId("save-board-name").click();
  await expect(page.getByTestId("board")).toHaveText(/Penguins at sea\s*1/);
  await expect(page.getByTestId("board-filter").locator(`option[value="${boardId}"]`)).toHaveText("Penguins at sea");
  await expect(cards.last().getByTestId("move-to-board")).toHaveValue(boardId!);

  page.once("dialog", (dialog) => dialog.accept());
  await cards.first().getByTestId("delete").click();
  await expect(cards).toHaveCount(1);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("image-card")).toHaveCount(1);
  await expect(page.getByTestId("image-count")).toHaveText("1 image");
});

test("another user's image address shows the not-found page, and the API answers 404", async ({ browser, request }) => {
  test.setTimeout(90_000);
  const owner = uniqueEmail("owner");
  const ownerPage = await (await browser.newContext()).newPage();
  await register(ownerPage, owner, "Olive Owner");
  const [imageId] = await generated(request, await apiToken(request, owner), "my private penguin");

  const intruder = uniqueEmail("intruder");
  const page = await (await browser.newContext()).newPage();
  await register(page, intruder, "Ivan Intruder");
  await page.goto(`/gallery/${imageId}`);
  await hydrated(page);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page.getByTestId("image-detail")).toHaveCount(0);

  const headers = { Authorization: `Bearer ${await apiToken(request, intruder)}` };
  for (const path of [`/api/v1/images/${imageId}`, `/api/v1/images/${imageId}/file`, `/api/v1/images/${imageId}/thumbnail`]) {
    expect((await request.get(path, { headers })).status()).toBe(404);
  }
});

test("an uploaded image joins the gallery and a file that is not an image is refused", async ({ page }) => {
  await register(page, uniqueEmail("uploader"), "Uma Uploader");
  await page.goto("/gallery");
  await hydrated(page);
  await expect(page.getByTestId("gallery-empty")).toBeVisible();

  await page.getByTestId("upload-file").setInputFiles({
    name: "notes.png",
    mimeType: "image/png",
    buffer: Buffer.from("these are not pixels"),
  });
  await page.getByTestId("upload").click();
  await expect(page.getByRole("alert")).toHaveText("This is not a PNG, JPEG or WebP image.");

  // A 1×1 PNG.
  const pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
  await page.getByTestId("upload-file").setInputFiles({ name: "pixel.png", mimeType: "image/png", buffer: Buffer.from(pixel, "base64") });
  await page.getByTestId("upload").click();
  await expect(page.getByTestId("image-card")).toHaveCount(1);
  await expect(page.getByTestId("image-card").locator(".caption")).toHaveText("Uploaded image");
});
