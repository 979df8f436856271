import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "@playwright/test";
import { databaseUrl } from "../playwright.config";
import { PASSWORD, hydrated, mailedLink, register, signIn, uniqueEmail } from "./helpers";

const NEW_PASSWORD = "a fresh passphrase after forgetting";

/** One value from the test database, through psql. */
function sql(query: string, ...params: string[]): string {
  if (!databaseUrl) throw new Error("E2E_DATABASE_URL (or DATABASE_URL) names the test database");
  const args = ["-X", "-At", "-v", "ON_ERROR_STOP=1", databaseUrl];
  params.forEach((value, i) => args.push("-v", `p${i + 1}=${value}`));
  // On standard input: psql substitutes :'p1' there, not in a -c command.
  return execFileSync("psql", args, { input: query, encoding: "utf8" }).trim();
}

test("a new user verifies their email from the mail, generates, resets a forgotten password and deletes the account, leaving nothing", async ({ page }) => {
  test.setTimeout(120_000);
  const email = uniqueEmail("lifecycle");
  await register(page, email, "Lena Lifecycle", { verify: false });

  // Until the address is verified: a banner, and generating is refused with the reason.
  await expect(page.getByTestId("verify-banner")).toContainText(email);
  await page.goto("/generate");
  await hydrated(page);
  await page.getByTestId("prompt").fill("a penguin");
  await page.getByTestId("generate").click();
  await expect(page.getByTestId("generate-error")).toContainText("Confirm your email");
  await page.screenshot({ path: test.info().outputPath("unverified.png") });

  // The mail arrived over SMTP; its link confirms the address.
  await page.goto(await mailedLink(email, "/verify-email"));
  await hydrated(page);
  await page.getByTestId("confirm-email").click();
  await expect(page.getByTestId("email-confirmed")).toContainText(email);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);

  await page.goto("/generate");
  await hydrated(page);
  await page.getByTestId("prompt").fill("a penguin");
  await page.getByTestId("steps").fill("4");
  await page.getByTestId("generate").click();
  await expect(page.getByTestId("job-progress")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("result")).toHaveCount(1);
  const userId = sql("SELECT user_id FROM users WHERE email = :'p1'", email);
  expect(userId).toMatch(/^[0-9a-f-]{36}$/);
  const objects = path.join(__dirname, "../../.data/objects/users", userId);
  expect(fs.readdirSync(objects, { recursive: true }).length).toBeGreaterThan(0);

  // Forgotten password: the reset link comes by mail, and the new password signs in.
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL("/login");
  await expect(page.getByTestId("header-sign-in")).toBeVisible();
  await hydrated(page);
  await page.getByTestId("forgot-password").click();
  // The page's part of the bundle loads on the way (lazy routes): the login form stays until then.
  await expect(page.getByTestId("forgot-password-form")).toBeVisible();
  await page.getByTestId("email").fill(email);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("reset-requested")).toBeVisible();
  await page.goto(await mailedLink(email, "/reset-password"));
  await hydrated(page);
  await page.getByTestId("new-password").fill(NEW_PASSWORD);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("password-reset")).toBeVisible();
  await signIn(page, email);
  await expect(page.getByTestId("form-error")).toBeVisible();
  await page.getByTestId("password").fill(NEW_PASSWORD);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("user-name")).toHaveText("Lena Lifecycle");

  // Deleting the account asks for the password and leaves nothing behind.
  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("email-verified")).toBeVisible();
  await page.getByTestId("delete-password").fill(NEW_PASSWORD);
  await expect(page.getByTestId("delete-account")).toBeDisabled();
  await page.getByTestId("delete-confirm").check();
  await page.screenshot({ path: test.info().outputPath("account.png"), fullPage: true });
  await page.getByTestId("delete-account").click();
  await expect(page).toHaveURL(/\/\?deleted=1$/);
  await expect(page.getByTestId("account-deleted")).toBeVisible();
  await expect(page.getByTestId("user-name")).toHaveCount(0);

  const tables = sql(
    "SELECT string_agg(c.relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
      "WHERE n.nspname = 'public' AND c.relkind = 'r' AND EXISTS " +
      "(SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id')",
  ).split(",");
  expect(tables).toContain("images");
  for (const table of tables) {
    expect(sql(`SELECT count(*) FROM ${table} WHERE user_id = :'p1'`, userId), table).toBe("0");
  }
  expect(sql("SELECT count(*) FROM users WHERE user_id = :'p1' OR email = :'p2'", userId, email)).toBe("0");
  expect(fs.existsSync(objects) ? fs.readdirSync(objects, { recursive: true }).filter((f) => !fs.statSync(path.join(objects, String(f))).isDirectory()) : []).toEqual([]);
  const gone = await page.request.post("/api/v1/auth/login", { data: { email, password: NEW_PASSWORD } });
  expect(gone.status()).toBe(401);
});

test("the account page changes the email only once the new address confirms it", async ({ page }) => {
  const email = uniqueEmail("mover");
  const newEmail = uniqueEmail("moved");
  await register(page, email, "Mo Mover");
  await page.goto("/account");
  await hydrated(page);
  await page.getByTestId("new-email").fill(newEmail);
  await page.getByTestId("email-password").fill(PASSWORD);
  await page.locator("[data-testid=email-form] button[type=submit]").click();
  await expect(page.getByTestId("form-success")).toContainText(newEmail);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await page.goto(await mailedLink(newEmail, "/verify-email"));
  await hydrated(page);
  await page.getByTestId("confirm-email").click();
  await expect(page.getByTestId("email-confirmed")).toContainText(newEmail);
  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("account-email")).toHaveText(newEmail);
});
