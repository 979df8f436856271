import * as path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { hydrated, register, uniqueEmail } from "./helpers";

/** A 64×64 picture the starter model drew (a red apple), to upload onto the canvas. */
const APPLE = path.join(__dirname, "..", "..", "engine", "tests", "fixtures", "starter-refs", "red-apple.png");

type Stroke = (page: Page, from: [number, number], to: [number, number]) => Promise<void>;

/** A mask stroke with the mouse, between two points given as fractions of the canvas. */
const mouseStroke: Stroke = async (page, from, to) => {
  const box = (await page.getByTestId("canvas").boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + box.width * x, box.y + box.height * y] as const;
  await page.mouse.move(...at(from));
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    const t = i / 8;
    await page.mouse.move(...at([from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t]));
  }
  await page.mouse.up();
};

/** The same stroke with a finger: real touch events, which the browser turns into pointer events. */
const touchStroke: Stroke = async (page, from, to) => {
  const box = (await page.getByTestId("canvas").boundingBox())!;
  const at = ([x, y]: [number, number]) => ({ x: box.x + box.width * x, y: box.y + box.height * y });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [at(from)] });
  for (let i = 1; i <= 8; i++) {
    const t = i / 8;
    const point = at([from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t]);
    await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [point] });
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
};

/** Generates with the form as it is and waits for the result to be staged on the canvas. */
async function generateAndStage(page: Page, prompt: string) {
  await page.getByTestId("prompt").fill(prompt);
  await page.getByTestId("steps").fill("8");
  await page.getByTestId("generate").click();
  await expect(page.getByTestId("job-progress")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("staged-position")).toHaveText("1 of 1");
}

/**
 * The whole canvas journey of a new user: upload a picture, paint a mask (undo and redo a
 * stroke), inpaint, accept the staged result, extend the picture to the right, accept again, and
 * find the results in the gallery while the upload stays out of it.
 */
async function canvasJourney(page: Page, stroke: Stroke, screenshot: string) {
  await register(page, uniqueEmail("canvas"));
  await expect(page).toHaveURL("/generate");
  await hydrated(page);
  await expect(page.getByTestId("workspace")).toBeVisible();

  await page.getByTestId("canvas-file").setInputFiles(APPLE);
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-base", "64x64");
  await expect(page.getByTestId("edit-size")).toContainText("64×64");

  await page.getByTestId("tool-brush").click();
  await stroke(page, [0.4, 0.4], [0.6, 0.6]);
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-strokes", "true");
  await page.getByTestId("undo").click();
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-strokes", "false");
  await expect(page.getByTestId("undo")).toBeDisabled();
  await page.getByTestId("redo").click();
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-strokes", "true");
  await expect(page.getByTestId("redo")).toBeDisabled();

  await generateAndStage(page, "blue heart");
  await page.screenshot({ path: `test-results/${screenshot}`, fullPage: true });
  await page.getByTestId("accept").click();
  await expect(page.getByTestId("staging")).toHaveCount(0);
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-strokes", "false");
  await expect(page.getByTestId("recent-image")).toHaveCount(1);

  await page.getByTestId("extend-right").click();
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-box", "32,0,64,64");
  await generateAndStage(page, "red apple");
  await page.getByTestId("accept").click();
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-base", "96x64");
  await expect(page.getByTestId("recent-image")).toHaveCount(2);

  await page.goto("/gallery");
  await hydrated(page);
  // The two accepted results; neither the uploaded picture nor the mask is among them.
  await expect(page.getByTestId("image-count")).toHaveText("2 images");
  await expect(page.getByTestId("image-card")).toHaveCount(2);
}

test("on the canvas a new user inpaints, accepts, outpaints to the right, undoes and redoes a stroke, and finds the results in the gallery", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await canvasJourney(page, mouseStroke, "workspace-desktop.png");
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, hasTouch: true });

  test("the same canvas journey works with touch, in one column with nothing cut off", async ({ page }) => {
    await canvasJourney(page, touchStroke, "workspace-phone.png");
    await page.goto("/generate");
    await hydrated(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });
});
