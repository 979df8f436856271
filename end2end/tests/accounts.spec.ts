import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { mockDiscord, mockGoogle } from "../playwright.config";
import { PASSWORD, hydrated, register, signIn, uniqueEmail } from "./helpers";

/** Chooses who signs in at a mock provider, through a cookie on the provider's origin. */
async function providerIdentity(context: BrowserContext, provider: string, who: object) {
  await context.addCookies([
    { name: "identity", value: encodeURIComponent(JSON.stringify(who)), url: provider },
  ]);
}

/** Records every URL the page requests or navigates to. */
function recordUrls(page: Page): string[] {
  const urls: string[] = [];
  page.on("request", (request) => urls.push(request.url()));
  page.on("framenavigated", (frame) => urls.push(frame.url()));
  return urls;
}

test("a new user signs up, signs out and signs in again with email and password", async ({ page }) => {
  const email = uniqueEmail("ada");
  await register(page, email);
  await expect(page).toHaveURL("/generate");

  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL("/login");
  await expect(page.getByTestId("header-sign-in")).toBeVisible();
  // The session is really gone: a reload does not bring it back.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("header-sign-in")).toBeVisible();

  await page.getByTestId("email").fill(email);
  await page.getByTestId("password").fill("a wrong password, sadly");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("form-error")).toHaveText("Email or password is incorrect.");

  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("user-name")).toHaveText("Ada Lovelace");
  // The access token lives in memory only.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  expect(stored).not.toContain("eyJ");
  expect(await page.evaluate(() => document.cookie)).toBe("");
});

test("weak passwords are refused with a message beside the field", async ({ page }) => {
  await page.goto("/register");
  await hydrated(page);
  await page.getByTestId("email").fill(uniqueEmail("weak"));
  await page.getByTestId("password").evaluate((input: HTMLInputElement) => input.removeAttribute("minlength"));
  await page.getByTestId("password").fill("short");
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("password-error")).toContainText("at least 15 characters");
});

test("a protected page sends a signed-out visitor to sign in and back", async ({ page }) => {
  const email = uniqueEmail("grace");
  await register(page, email, "Grace Hopper");
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL("/login");

  await page.goto("/account");
  await expect(page).toHaveURL("/login?next=/account");
  await hydrated(page);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("submit").click();
  await expect(page).toHaveURL("/account");
  await expect(page.getByTestId("account-email")).toHaveText(email);
});

for (const [name, provider, button] of [
  ["Google", mockGoogle, "continue-google"],
  ["Discord", mockDiscord, "continue-discord"],
] as const) {
  test(`a new user signs in with ${name} and no token ever appears in a URL`, async ({ page, context }) => {
    const email = uniqueEmail(name.toLowerCase());
    const sub = `${name.toLowerCase()}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await providerIdentity(context, provider, { sub, email, verified: true, name: `${name} Person` });
    const urls = recordUrls(page);

    await page.goto("/login?next=/account");
    await hydrated(page);
    await page.getByTestId(button).click();
    await expect(page).toHaveURL("/account");
    await expect(page.getByTestId("user-name")).toHaveText(`${name} Person`);
    await expect(page.getByTestId("account-email")).toHaveText(email);

    // The authorization request carried PKCE; the way back carried only code and state.
    const authorize = urls.find((u) => u.startsWith(`${provider}/authorize`));
    expect(authorize).toContain("code_challenge_method=S256");
    expect(urls.filter((u) => /eyJ|access_token|refresh_token|id_token/.test(u))).toEqual([]);

    // Signing out and in again with the provider reaches the same account.
    await page.getByTestId("sign-out").click();
    await expect(page).toHaveURL("/login");
    await hydrated(page);
    await page.getByTestId(button).click();
    await expect(page.getByTestId("user-name")).toHaveText(`${name} Person`);
  });
}

test("an unverified Discord email is refused with an explanation", async ({ page, context }) => {
  await providerIdentity(context, mockDiscord, {
    sub: `unverified-${Date.now()}`, email: uniqueEmail("unverified"), verified: false, name: "Someone",
  });
  await page.goto("/login");
  await hydrated(page);
  await page.getByTestId("continue-discord").click();
  await expect(page).toHaveURL("/login?error=unverified_email");
  await expect(page.getByTestId("sign-in-notice")).toContainText("not verified");
});

test("an expired access token is refreshed silently", async ({ page }) => {
  test.setTimeout(60_000);
  await register(page, uniqueEmail("patient"), "Patient User");
  await page.goto("/account");
  await expect(page.getByTestId("session-row")).toHaveCount(1);
  const refreshes: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/api/v1/auth/ui/refresh")) refreshes.push(request.url());
  });

  // The e2e server issues 10-second access tokens (5 s of leeway): this one is now dead.
  await page.waitForTimeout(16_000);
  await page.getByTestId("reload-sessions").click();
  await expect(page.getByTestId("session-row")).toHaveCount(1);
  await expect(page).toHaveURL("/account");
  expect(refreshes.length).toBe(1);
});

test("revoking a session on the account page signs that browser out", async ({ browser }) => {
  const email = uniqueEmail("two-devices");
  const laptop = await (await browser.newContext()).newPage();
  const phone = await (await browser.newContext()).newPage();
  await register(laptop, email, "Two Devices");
  await signIn(phone, email, "?next=/account");
  await expect(phone).toHaveURL("/account");
  await expect(phone.getByTestId("session-row")).toHaveCount(2);

  await laptop.goto("/account");
  await expect(laptop.getByTestId("session-row")).toHaveCount(2);
  await laptop.locator('[data-testid="session-row"][data-current="false"]').getByTestId("revoke-session").click();
  await expect(laptop.getByTestId("session-row")).toHaveCount(1);

  // The phone's next request finds its session gone, its silent refresh fails, and it is sent to sign in.
  await phone.getByTestId("reload-sessions").click();
  await expect(phone).toHaveURL("/login?next=/account");
  await phone.reload();
  await hydrated(phone);
  await expect(phone.getByTestId("header-sign-in")).toBeVisible();
  // The laptop is still signed in.
  await laptop.reload();
  await expect(laptop.getByTestId("user-name")).toHaveText("Two Devices");
});

test("tabs loading at the same moment share the session without tripping reuse detection", async ({ page, context }) => {
  await register(page, uniqueEmail("tabs"), "Many Tabs");
  const tabs = [page, await context.newPage(), await context.newPage()];
  // Hold each refresh until every tab has sent one (or 1.5 s pass), so tabs that do not take
  // turns would present the same refresh token at once, which ends the session.
  const waiting: (() => void)[] = [];
  await context.route("**/api/v1/auth/ui/refresh", async (route) => {
    await new Promise<void>((release) => {
      waiting.push(release);
      if (waiting.length >= tabs.length) waiting.splice(0).forEach((go) => go());
      setTimeout(release, 1_500);
    });
    await route.continue();
  });
  await Promise.all(tabs.map((tab) => tab.goto("/account")));
  for (const tab of tabs) await expect(tab.getByTestId("user-name")).toHaveText("Many Tabs");
  await context.unroute("**/api/v1/auth/ui/refresh");
  const later = await context.newPage();
  await later.goto("/account");
  await expect(later.getByTestId("user-name")).toHaveText("Many Tabs");
});

test("the header's quota meter shows the month's allowance and the plans page marks the user's plan", async ({ page }) => {
  await register(page, uniqueEmail("quota"), "Quota Watcher");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 100 images");
  await page.getByTestId("quota-meter").click();
  await expect(page).toHaveURL("/upgrade");
  await expect(page.getByTestId("plan-table")).toBeVisible();
  await expect(page.getByTestId("plan-free")).toContainText("Your plan");
  await expect(page.getByTestId("plan-pro")).not.toContainText("Your plan");
});
