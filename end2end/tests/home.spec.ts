import { expect, test } from "@playwright/test";
import { hydrated, nearestStarterRef, register, uniqueEmail } from "./helpers";

test("home page renders on the server and becomes interactive once hydrated", async ({ page }) => {
  // The page's Content-Security-Policy must let the app hydrate without any violation.
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  const bundle = page.waitForResponse((response) => response.url().endsWith(".wasm"));
  const document = await page.goto("/");
  await expect(page.getByTestId("product-name")).toHaveText("PingvasAI");
  await expect(page.getByTestId("sign-in-link")).toHaveAttribute("href", "/login");
  // The wasm bundle travels as the brotli file the build precompressed (Chromium accepts it); the
  // streamed page itself does not wait in an encoder.
  expect((await bundle).headers()["content-encoding"]).toBe("br");
  expect(document?.headers()["content-encoding"]).toBeUndefined();

  // The app marks itself hydrated from an effect, which only runs in the browser's wasm.
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");

  const idea = page.getByTestId("prompt-idea");
  const first = await idea.textContent();
  await page.getByTestId("inspire-button").click();
  await expect(idea).not.toHaveText(first ?? "");
  const second = await idea.textContent();
  await page.getByTestId("inspire-button").click();
  await expect(idea).not.toHaveText(second ?? "");
  expect(violations).toEqual([]);
});

test("a page loads the shell and its own part of the bundle; another page's part comes when it is opened", async ({ page }) => {
  const wasm: string[] = [];
  const headers = new Map<string, Record<string, string>>();
  page.on("response", (response) => {
    const name = new URL(response.url()).pathname;
    if (name.endsWith(".wasm")) wasm.push(name);
    headers.set(name, response.headers());
  });
  const loaded = (page: string) => wasm.some((name) => name.includes(`___${page}_view_`));
  await page.goto("/");
  await hydrated(page);
  // The browser keeps the bundle but asks each visit whether it changed.
  expect(wasm).toContain("/pkg/pingvas.wasm");
  expect(headers.get("/pkg/pingvas.wasm")?.["cache-control"]).toBe("no-cache");
  expect(loaded("home")).toBe(true);
  expect(loaded("login") || loaded("admin") || loaded("generate")).toBe(false);

  // Client-side navigation fetches the next page's part, then shows the page.
  await page.getByTestId("sign-in-link").click();
  await expect(page.getByTestId("login-form")).toBeVisible();
  await expect(page).toHaveURL("/login");
  expect(loaded("login")).toBe(true);
  expect(loaded("admin")).toBe(false);
});

test("the inspire button does nothing without the wasm bundle", async ({ browser }) => {
  // Proves the interaction above comes from hydration, not from server-rendered HTML or a form.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  const idea = page.getByTestId("prompt-idea");
  const before = await idea.textContent();
  await page.getByTestId("inspire-button").click();
  await expect(idea).toHaveText(before ?? "");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "false");
  await context.close();
});

test("unknown pages show the 404 page with status 404", async ({ page }) => {
  const response = await page.goto("/definitely/not/here");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page).toHaveTitle(/Page not found/);
  // The page hydrates too, and its link leads home.
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("home-link").click();
  await expect(page.getByTestId("product-name")).toBeVisible();
});

test("the home page shows what the starter model made, and 'Try it' opens the generator with that prompt and seed", async ({ page }) => {
  await register(page, uniqueEmail("visitor"), "Vera Visitor");
  await page.goto("/");
  await hydrated(page);
  const examples = page.getByTestId("showcase-example");
  await expect(examples).toHaveCount(6);
  const apple = examples.first();
  await expect(apple).toContainText("a red apple");
  const picture = apple.locator("img");
  await expect(picture).toHaveJSProperty("complete", true);
  expect(await picture.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(64);
  expect(await nearestStarterRef(page, await picture.evaluate((img: HTMLImageElement) => img.src))).toBe("red-apple");

  await apple.getByTestId("showcase-try").click();
  await expect(page).toHaveURL(/\/generate\?prompt=a%20red%20apple&seed=1$/);
  await hydrated(page);
  await expect(page.getByTestId("prompt")).toHaveValue("a red apple");
  await expect(page.getByTestId("seed")).toHaveValue("1");
  await expect(page.getByTestId("randomise")).not.toBeChecked();
});
