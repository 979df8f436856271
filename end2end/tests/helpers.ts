import { expect, type Page } from "@playwright/test";

/** The password every browser test account uses. */
export const PASSWORD = "correct horse battery staple 42";

/** An email address no other test (or earlier run) has used. */
export function uniqueEmail(name: string): string {
  return `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** Waits until the wasm bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
}

/** Signs up through `/register` and waits until the header shows the new user. */
export async function register(page: Page, email: string, name = "Ada Lovelace") {
  await page.goto("/register");
  await hydrated(page);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("full-name").fill(name);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("user-name")).toHaveText(name);
}

/** Fills in and submits the sign-in form at `/login` + `next`. */
export async function signIn(page: Page, email: string, next = "") {
  await page.goto(`/login${next}`);
  await hydrated(page);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("submit").click();
}
