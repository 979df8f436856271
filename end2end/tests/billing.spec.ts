import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { baseURL, databaseUrl, localStripe, plainURL, webhookSecret } from "../playwright.config";
import { hydrated, register, uniqueEmail } from "./helpers";

const stripeKey = { Authorization: "Bearer sk_test_pingvas_e2e" };

/** What billing.spec needs at the provider: the prices on offer and our webhook (each worker
 * runs this; registering the same webhook name again replaces it). */
test.beforeAll(async ({ request }) => {
  for (const [id, name, amount] of [
    ["pingvas_pro_monthly", "Pro", "1200"],
    ["pingvas_studio_monthly", "Studio", "3900"],
  ]) {
    if ((await request.get(`${localStripe}/v1/plans/${id}`, { headers: stripeKey })).status() === 200) continue;
    const product = await request.post(`${localStripe}/v1/products`, { headers: stripeKey, form: { name } });
    const plan = await request.post(`${localStripe}/v1/plans`, {
      headers: stripeKey,
      form: { id, product: (await product.json()).id, amount, currency: "usd", interval: "month" },
    });
    // Each worker runs this; another may have made it meanwhile.
    const made = plan.status() === 200 || (await request.get(`${localStripe}/v1/plans/${id}`, { headers: stripeKey })).status() === 200;
    expect(made).toBeTruthy();
  }
  const hook = await request.post(`${localStripe}/_config/webhooks/pingvas`, {
    form: { url: `${baseURL}/api/v1/billing/webhook`, secret: webhookSecret },
  });
  expect(hook.ok()).toBeTruthy();
});

test("the header links to the billing page where the server sells plans, and only there", async ({ page }) => {
  await register(page, uniqueEmail("nav-billing"), "Nav Billing", { verify: false });
  await expect(page.getByTestId("nav-billing")).toBeVisible();

  // A server without billing: the same header, without the link to a page that would only say so.
  await register(page, uniqueEmail("nav-plain"), "Nav Plain", { verify: false, site: plainURL });
  await expect(page.getByTestId("nav-gallery")).toBeVisible();
  await expect(page.getByTestId("nav-billing")).toHaveCount(0);
  await page.goto(`${plainURL}/billing`);
  await expect(page.getByTestId("billing-off")).toBeVisible();
});

/** Ends `email`'s paid period now, as time passing would; the server's sweep applies it. */
function endPeriod(email: string) {
  if (!databaseUrl) throw new Error("E2E_DATABASE_URL must name the test database (run ./scripts/test)");
  execFileSync("psql", [
    databaseUrl,
    "-v",
    "ON_ERROR_STOP=1",
    "-qc",
    `UPDATE users SET billing_period_end = now() - interval '1 second' WHERE email = '${email}'`,
  ]);
}

test("a Free user upgrades to Pro with a card, gets Pro's limits, cancels, keeps Pro until the period ends, then is Free", async ({ page }) => {
  test.setTimeout(90_000);
  const email = uniqueEmail("buyer");
  await register(page, email, "Paying Penguin");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 100 images");

  // From the plan table to the billing page, Pro chosen.
  await page.goto("/upgrade");
  await hydrated(page);
  await page.getByTestId("choose-pro").click();
  await expect(page).toHaveURL("/billing?plan=pro");
  await expect(page.getByTestId("billing-none")).toBeVisible();
  await expect(page.getByTestId("offer-pro-month")).toBeChecked();
  await expect(page.getByTestId("offer-pro-month").locator("..")).toContainText("Pro — $12.00 per month");

  // The provider's card field (localstripe's stand-in for Stripe's) takes a test card.
  await typeCard(page, "4242424242424242");
  await page.getByTestId("subscribe").click();

  // Pro arrives when the provider's signed webhook confirms the payment.
  await expect(page.getByTestId("billing-plan")).toHaveText("Pro", { timeout: 20_000 });
  await expect(page.getByTestId("billing-active")).toContainText("Renews on");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 1000 images");
  await expect(page.getByTestId("invoice")).toHaveCount(1);
  await expect(page.getByTestId("invoice")).toContainText("$12.00");
  await page.screenshot({ path: test.info().outputPath("billing-pro.png"), fullPage: true });

  // Pro's gates open: a batch of four.
  await page.goto("/generate");
  await hydrated(page);
  await expect(page.getByTestId("batch")).toBeEnabled();
  await page.getByTestId("prompt").fill("four penguins on an iceberg");
  await page.getByTestId("batch").fill("4");
  await page.getByTestId("generate").click();
  await expect(page.getByTestId("quota-label")).toHaveText("4 / 1000 images");

  // Cancelling keeps Pro until the paid period ends…
  await page.goto("/billing");
  await hydrated(page);
  await page.getByTestId("cancel-subscription").click();
  await expect(page.getByTestId("billing-active")).toContainText("Your subscription ends on");
  await expect(page.getByTestId("billing-plan")).toHaveText("Pro");
  await expect(page.getByTestId("resume")).toBeVisible();

  // …and then the plan is Free, with Free's limits (the images used stay used).
  endPeriod(email);
  await expect
    .poll(async () => {
      await page.reload();
      await hydrated(page);
      return page.getByTestId("billing-plan").textContent();
    }, { timeout: 15_000 })
    .toBe("Free");
  await expect(page.getByTestId("billing-cancelled")).toBeVisible();
  await expect(page.getByTestId("quota-label")).toHaveText("4 / 100 images");
  await page.goto("/generate");
  await hydrated(page);
  await expect(page.getByTestId("batch")).toBeDisabled();
});

test("a declined card is refused with the provider's words and changes nothing", async ({ page }) => {
  await register(page, uniqueEmail("declined"), "Declined Penguin");
  await page.goto("/billing?plan=pro");
  await hydrated(page);
  await typeCard(page, "4000000000000002");
  await page.getByTestId("subscribe").click();
  await expect(page.getByTestId("billing-error")).toContainText("declined");
  await expect(page.getByTestId("billing-plan")).toHaveText("Free");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 100 images");
});

/** Subscribes a new user to Pro with a good card, on the billing page. */
async function subscribedToPro(page: import("@playwright/test").Page, email: string) {
  await register(page, email, "Upgrading Penguin");
  await page.goto("/billing?plan=pro");
  await hydrated(page);
  await typeCard(page, "4242424242424242");
  await page.getByTestId("subscribe").click();
  await expect(page.getByTestId("billing-plan")).toHaveText("Pro", { timeout: 60_000 });
}

/** Types a test card `number` into the provider's card field (localstripe's stand-in for Stripe's). */
async function typeCard(page: import("@playwright/test").Page, number: string) {
  const card = page.getByTestId("card-field");
  await card.getByPlaceholder("number").fill(number);
  await card.getByPlaceholder("exp_month").fill("12");
  await card.getByPlaceholder("exp_year").fill("34");
  await card.getByPlaceholder("cvc").fill("123");
  await card.getByPlaceholder("postal_code").fill("42424");
}

// Issue 33, finding 2: an upgrade used to apply at once and be billed "later"; downgrading before
// that invoice gave Studio's limits at Pro's price.
test("a Pro user whose upgrade to Studio is not paid never has Studio's limits, and gets them once it is", async ({ page }) => {
  test.setTimeout(120_000);
  await subscribedToPro(page, uniqueEmail("upgrader"));
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 1000 images");

  // A card that saves but whose charges are declined.
  await page.getByTestId("replace-card").click();
  await typeCard(page, "4000000000000341");
  await page.getByRole("button", { name: "Save card" }).click();
  await expect(page.getByTestId("card-saved")).toBeVisible();
  await page.getByTestId("switch-studio").click();
  await expect(page.getByTestId("billing-error")).toContainText("declined");
  await expect(page.getByTestId("billing-plan")).toHaveText("Pro");
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("billing-plan")).toHaveText("Pro");
  await expect(page.getByTestId("billing-active")).toContainText("Renews on");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 1000 images");
  await expect(page.getByTestId("switch-pro")).toHaveCount(0); // Pro still renews: nothing to undo
  await page.screenshot({ path: test.info().outputPath("billing-upgrade-declined.png"), fullPage: true });

  // With a good card the upgrade is charged now and Studio starts; going back to Pro keeps the
  // Studio that was paid for until the period ends.
  await page.getByTestId("replace-card").click();
  await typeCard(page, "4242424242424242");
  await page.getByRole("button", { name: "Save card" }).click();
  await expect(page.getByTestId("card-saved")).toBeVisible();
  await page.getByTestId("switch-studio").click();
  await expect(page.getByTestId("billing-plan")).toHaveText("Studio");
  await expect(page.getByTestId("quota-label")).toHaveText("0 / 5000 images");
  await page.getByTestId("switch-pro").click();
  await expect(page.getByTestId("billing-active")).toContainText("Pro");
  await expect(page.getByTestId("billing-plan")).toHaveText("Studio");

  // The same page on a phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("billing-plan")).toHaveText("Studio");
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.screenshot({ path: test.info().outputPath("billing-phone.png"), fullPage: true });
});
