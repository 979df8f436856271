import { randomBytes } from "node:crypto";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";

// scripts/test builds the release server and creates a fresh database, then runs this suite.
const root = path.resolve(__dirname, "..");
const port = Number(process.env.E2E_PORT ?? 3017);
export const baseURL = `http://127.0.0.1:${port}`;
export const databaseUrl = process.env.E2E_DATABASE_URL ?? process.env.DATABASE_URL;
// A second server, on its own database, that runs without the optional services (billing, email,
// Google and Discord sign-in), as a self-hosted site first does.
const plainPort = Number(process.env.E2E_PLAIN_PORT ?? 3024);
export const plainURL = `http://127.0.0.1:${plainPort}`;
const plainDatabaseUrl = process.env.E2E_PLAIN_DATABASE_URL;
const binary = process.env.PINGVAS_BINARY;
// The local OAuth servers playing Google and Discord (oauth-providers.mjs).
export const mockGoogle = `http://127.0.0.1:${Number(process.env.MOCK_GOOGLE_PORT ?? 3018)}`;
export const mockDiscord = `http://127.0.0.1:${Number(process.env.MOCK_DISCORD_PORT ?? 3019)}`;
// MailDev: the SMTP server the app sends to, and the web API the tests read mail from.
const mailSmtpPort = Number(process.env.MAILDEV_SMTP_PORT ?? 3020);
const mailWebPort = Number(process.env.MAILDEV_WEB_PORT ?? 3021);
// localstripe: the Stripe-compatible server billing talks to (installed by scripts/test).
export const localStripe = `http://127.0.0.1:${Number(process.env.LOCALSTRIPE_PORT ?? 3022)}`;
// With our add-ons (scripts/localstripe_pingvas.py): upgrades charged at once, idempotency keys.
const localStripeBin = process.env.PINGVAS_LOCALSTRIPE ?? path.join(root, "scripts/localstripe");
// Its card-form script as the browser loads it, wrapped the way Stripe.js is (localstripe-proxy.mjs).
const cardFormProxy = `http://127.0.0.1:${Number(process.env.LOCALSTRIPE_PROXY_PORT ?? 3023)}`;
/** The secret the billing webhook is signed with (billing.spec.ts registers it with localstripe). */
export const webhookSecret = "whsec_pingvas_e2e";
if (!binary) throw new Error("PINGVAS_BINARY must name the release server binary (run ./scripts/test)");
if (!plainDatabaseUrl) throw new Error("E2E_PLAIN_DATABASE_URL must name a fresh database (run ./scripts/test)");

/** What both servers need: the site's files, keys, and limits high enough for one test machine. */
function siteEnv(url: string, sitePort: number, database: string | undefined): Record<string, string> {
  return {
    ...(database ? { DATABASE_URL: database } : {}),
    JWT_SECRET_KEY: randomBytes(32).toString("hex"),
    LEPTOS_OUTPUT_NAME: "pingvas",
    LEPTOS_SITE_ROOT: path.join(root, "target/site"),
    LEPTOS_SITE_PKG_DIR: "pkg",
    LEPTOS_SITE_ADDR: `127.0.0.1:${sitePort}`,
    LEPTOS_ENV: "PROD",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    PUBLIC_URL: url,
    // Every test signs up from 127.0.0.1: the per-IP limits are tested in Rust instead.
    AUTH_RATE_LIMIT_PER_MINUTE: "10000",
    API_RATE_LIMIT_PER_MINUTE: "100000",
  };
}

/** Runs the server's command line against the test database (e.g. `user make-superuser`). */
export const serverCli = { binary, cwd: root, env: { ...process.env, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) } };

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [["list"]],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          // This machine has no network but the package registries: keep Chromium from trying.
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
  webServer: [
  {
    command: `node node_modules/maildev/bin/maildev --ip 127.0.0.1 --smtp ${mailSmtpPort} --web ${mailWebPort} --silent`,
    cwd: __dirname,
    url: `http://127.0.0.1:${mailWebPort}/email`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: "pipe",
    stderr: "pipe",
  },
  {
    command: `${localStripeBin} --port ${new URL(localStripe).port} --from-scratch`,
    url: `${localStripe}/js.stripe.com/v3/`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: "pipe",
    stderr: "pipe",
  },
  {
    command: "node localstripe-proxy.mjs",
    cwd: __dirname,
    url: `${cardFormProxy}/js.stripe.com/v3/`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: "pipe",
    stderr: "pipe",
    env: { LOCALSTRIPE_URL: localStripe, PROXY_PORT: new URL(cardFormProxy).port },
  },
  {
    command: "node oauth-providers.mjs",
    cwd: __dirname,
    url: `${mockGoogle}/.well-known/openid-configuration`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: "pipe",
    stderr: "pipe",
  },
  {
    command: binary,
    cwd: root,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...siteEnv(baseURL, port, databaseUrl),
      SMTP_URL: `smtp://127.0.0.1:${mailSmtpPort}`,
      MAIL_FROM: "PingvasAI <no-reply@pingvas.test>",
      // Short-lived access tokens, so the tests exercise silent refresh.
      ACCESS_TOKEN_TTL_SECONDS: "10",
      GOOGLE_CLIENT_ID: "pingvas-e2e-google",
      GOOGLE_CLIENT_SECRET: "e2e-google-secret",
      GOOGLE_AUTH_URL: `${mockGoogle}/authorize`,
      GOOGLE_TOKEN_URL: `${mockGoogle}/token`,
      GOOGLE_JWKS_URL: `${mockGoogle}/jwks`,
      GOOGLE_ISSUER: mockGoogle,
      DISCORD_CLIENT_ID: "pingvas-e2e-discord",
      DISCORD_CLIENT_SECRET: "e2e-discord-secret",
      DISCORD_AUTH_URL: `${mockDiscord}/authorize`,
      DISCORD_TOKEN_URL: `${mockDiscord}/token`,
      DISCORD_USERINFO_URL: `${mockDiscord}/users/@me`,
      STRIPE_SECRET_KEY: "sk_test_pingvas_e2e",
      STRIPE_PUBLISHABLE_KEY: "pk_test_pingvas_e2e",
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_BASE: localStripe,
      STRIPE_JS_URL: `${cardFormProxy}/js.stripe.com/v3/`,
      STRIPE_PRICE_PRO_MONTHLY: "pingvas_pro_monthly",
      STRIPE_PRICE_STUDIO_MONTHLY: "pingvas_studio_monthly",
      // The test moves a period's end into the past; the sweep applies it within a second.
      BILLING_SWEEP_SECONDS: "1",
    },
  },
  {
    command: binary,
    cwd: root,
    url: `${plainURL}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    // Generation is the main server's to test: this one runs no worker.
    env: { ...siteEnv(plainURL, plainPort, plainDatabaseUrl), IN_PROCESS_WORKER: "false" },
  },
  ],
});
