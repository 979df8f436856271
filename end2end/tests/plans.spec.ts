import { execFileSync } from "node:child_process";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { serverCli } from "../playwright.config";
import { PASSWORD, hydrated, register, signIn, uniqueEmail } from "./helpers";

/** An access token for `email` from the REST API, as a script or another client would get one. */
async function apiToken(request: APIRequestContext, email: string): Promise<string> {
  const response = await request.post("/api/v1/auth/login", { data: { email, password: PASSWORD } });
  expect(response.status()).toBe(200);
  return (await response.json()).access_token;
}

test("the quota meter shows the images used this month and when the count resets", async ({ page, request }) => {
  const email = uniqueEmail("meter");
  await register(page, email, "Meter Reader");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 100 images");

  const token = await apiToken(request, email);
  for (const prompt of ["a penguin", "two penguins", "a penguin on a bicycle"]) {
    const response = await request.post("/api/v1/images/generate", {
      headers: { Authorization: `Bearer ${token}` },
      data: { prompt },
    });
    expect(response.status()).toBe(202);
  }

  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("quota-label")).toHaveText("3 / 100 images");
  const now = new Date();
  const reset = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
  await expect(page.getByTestId("quota-meter")).toContainText(`resets ${reset}`);
});

test("a Free user opening a page of a higher plan lands on /upgrade, which names the plan", async ({ page }) => {
  await register(page, uniqueEmail("free"), "Free Rider");
  await page.goto("/workflows");
  // The router may show `from` decoded; either way it names the page the user wanted.
  await expect(page).toHaveURL(/\/upgrade\?needed=pro&from=(%2F|\/)workflows$/);
  await expect(page.getByTestId("upgrade-needed")).toHaveText("/workflows needs the Pro plan or higher.");
  await expect(page.getByTestId("plan-table")).toBeVisible();

  await page.goto("/models");
  await expect(page).toHaveURL(/\/upgrade\?needed=studio/);
  await expect(page.getByTestId("upgrade-needed")).toHaveText("/models needs the Studio plan or higher.");
});

test("/admin is refused to a normal user, in the page and by the server", async ({ page, request }) => {
  const email = uniqueEmail("normal");
  await register(page, email, "Normal User");
  await page.goto("/admin");
  await hydrated(page);
  await expect(page.getByTestId("admin-refused")).toBeVisible();
  await expect(page.getByTestId("admin-users")).toHaveCount(0);

  const token = await apiToken(request, email);
  const response = await request.get("/api/v1/admin/users", { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status()).toBe(403);
  expect((await response.json()).error.code).toBe("forbidden");
});

test("a superuser moves a user to Pro in /admin, and the user can then save workflows", async ({ browser, page }) => {
  const email = uniqueEmail("upgraded");
  await register(page, email, "Soon Pro");

  const adminEmail = uniqueEmail("admin");
  execFileSync(serverCli.binary, ["user", "make-superuser", adminEmail], {
    cwd: serverCli.cwd,
    env: { ...serverCli.env, PINGVAS_SUPERUSER_PASSWORD: PASSWORD, RUST_LOG: "warn" },
  });
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin, adminEmail, "?next=/admin");
  await expect(admin).toHaveURL("/admin");
  await admin.getByTestId("admin-query").fill(email);
  await admin.getByTestId("admin-search").getByRole("button").click();
  const row = admin.locator(`[data-testid=admin-user][data-email="${email}"]`);
  await expect(row).toHaveCount(1);
  await row.getByTestId("admin-plan").selectOption("pro");
  await row.getByTestId("admin-save").click();
  await expect(row.getByRole("status")).toHaveText("Saved.");
  await expect(row.getByTestId("admin-quota")).toHaveValue("1000");
  await adminContext.close();

  await page.goto("/workflows");
  await hydrated(page);
  await expect(page).toHaveURL("/workflows");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 1000 images");
  await page.getByTestId("workflow-name").fill("Penguin portraits");
  await page.getByTestId("workflow-prompt").fill("a penguin in a tuxedo, studio light");
  await page.getByRole("button", { name: "Save preset" }).click();
  await expect(page.getByTestId("workflow")).toContainText("Penguin portraits");

  // A preset loads into the generation form, and the form saves new ones (Pro and up).
  await page.getByTestId("use-workflow").click();
  await expect(page).toHaveURL(/\/generate\?workflow=/);
  await expect(page.getByTestId("prompt")).toHaveValue("a penguin in a tuxedo, studio light");
  await expect(page.getByTestId("batch")).toBeEnabled();
  await page.getByTestId("steps").fill("12");
  await page.getByTestId("preset-name").fill("Quick penguins");
  await page.getByTestId("save-preset").click();
  await expect(page.getByTestId("preset-saved")).toHaveText("Saved as “Quick penguins”.");
  await page.goto("/workflows");
  await expect(page.getByTestId("workflow")).toHaveCount(2);
});
