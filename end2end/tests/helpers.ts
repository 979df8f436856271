import * as fs from "node:fs";
import * as path from "node:path";
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

/** MailDev's web API, where the server's mail arrives over SMTP (playwright.config.ts starts it). */
export const mailWeb = `http://127.0.0.1:${Number(process.env.MAILDEV_WEB_PORT ?? 3021)}`;

/** The newest link to `path` in the mail MailDev received for `email` (waits for it to arrive). */
export async function mailedLink(email: string, path: string): Promise<string> {
  const pattern = new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9_-]+`);
  let link = "";
  await expect
    .poll(async () => {
      const mails: { to: { address: string }[]; text: string }[] = await (await fetch(`${mailWeb}/email`)).json();
      const links = mails
        .filter((mail) => mail.to.some((to) => to.address === email))
        .map((mail) => mail.text.match(pattern)?.[0])
        .filter((found): found is string => !!found);
      link = links[links.length - 1] ?? "";
      return link;
    }, { timeout: 15_000, message: `a mail to ${email} with a link to ${path}` })
    .not.toBe("");
  return link;
}

/** Opens the verification link mailed to `email` in another tab, as its owner would, and confirms it. */
export async function verifyEmail(page: Page, email: string) {
  const tab = await page.context().newPage();
  await tab.goto(await mailedLink(email, "/verify-email"));
  await hydrated(tab);
  await tab.getByTestId("confirm-email").click();
  await expect(tab.getByTestId("email-confirmed")).toBeVisible();
  await tab.close();
}

/**
 * Signs up through `/register` (of the main server, or of `site`), waits until the header shows
 * the new user, and (unless told not to) verifies the address through the mail the server sent,
 * since generating needs it.
 */
export async function register(page: Page, email: string, name = "Ada Lovelace", { verify = true, site = "" } = {}) {
  await page.goto(`${site}/register`);
  await hydrated(page);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("full-name").fill(name);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("submit").click();
  await expect(page.getByTestId("user-name")).toHaveText(name);
  if (verify) await verifyEmail(page, email);
}

/** Fills in and submits the sign-in form at `/login` + `next`. */
export async function signIn(page: Page, email: string, next = "") {
  await page.goto(`/login${next}`);
  await hydrated(page);
  await page.getByTestId("email").fill(email);
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("submit").click();
}

/** The starter model's reference pictures (engine/tests/fixtures/starter-refs), by name. */
const STARTER_REFS = ["red-apple", "penguin", "rocket", "grinning-face", "sunflower", "blue-heart"];

/**
 * Which reference picture the image at `src` (an URL the page can load) is nearest to, in
 * scripts/bench-starter's feature space (`features` in engine/starter/evaluate.py, the one definition;
 * engine/tests/integration/starter.rs repeats it in Rust): drawn at 64×64, 4×4 box means (16×16 RGB), Euclidean.
 */
export async function nearestStarterRef(page: Page, src: string): Promise<string> {
  const refs = STARTER_REFS.map((name) => {
    const file = path.join(__dirname, "../../engine/tests/fixtures/starter-refs", `${name}.png`);
    return `data:image/png;base64,${fs.readFileSync(file).toString("base64")}`;
  });
  const index = await page.evaluate(async ({ src, refs }) => {
    const features = async (url: string) => {
      const image = new Image();
      image.src = url;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 64;
      const context = canvas.getContext("2d")!;
      context.fillStyle = "#fff";
      context.fillRect(0, 0, 64, 64);
      context.drawImage(image, 0, 0, 64, 64);
      const rgba = context.getImageData(0, 0, 64, 64).data;
      const out = new Float64Array(16 * 16 * 3);
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++)
          for (let c = 0; c < 3; c++) out[((y >> 2) * 16 + (x >> 2)) * 3 + c] += rgba[(y * 64 + x) * 4 + c] / (16 * 255);
      return out;
    };
    const made = await features(src);
    const distances = await Promise.all(
      refs.map(async (ref) => (await features(ref)).reduce((sum, v, i) => sum + (v - made[i]) ** 2, 0)),
    );
    return distances.indexOf(Math.min(...distances));
  }, { src, refs });
  return STARTER_REFS[index];
}
