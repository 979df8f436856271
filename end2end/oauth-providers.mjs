// Two real OAuth servers (npm oauth2-mock-server) for the browser tests: one plays Google
// (OpenID Connect: ID token with email claims, nonce, JWKS), the other Discord (OAuth 2.0 with
// the `/users/@me` user endpoint). Both validate PKCE.
//
// A test chooses who "signs in at the provider" with a cookie on the provider's origin,
// `identity=<url-encoded JSON {sub, email, verified, name}>`; the authorization code carries
// that identity to the token and user endpoints. Started by playwright.config.ts.
import { OAuth2Server } from "oauth2-mock-server";

const host = "127.0.0.1";
const googlePort = Number(process.env.MOCK_GOOGLE_PORT ?? 3018);
const discordPort = Number(process.env.MOCK_DISCORD_PORT ?? 3019);

function identityFromCookie(req) {
  const cookie = (req.headers.cookie ?? "").split(";").map((c) => c.trim()).find((c) => c.startsWith("identity="));
  if (!cookie) return { sub: "default-user", email: "default@example.com", verified: true, name: "Default User" };
  return JSON.parse(decodeURIComponent(cookie.slice("identity=".length)));
}

async function provider(port, endpoints) {
  const server = new OAuth2Server(undefined, undefined, { endpoints });
  await server.issuer.keys.generate("RS256");
  const byCode = new Map();
  const byAccessToken = new Map();
  server.service.on("beforeAuthorizeRedirect", (redirect, req) => {
    const code = redirect.url.searchParams.get("code");
    if (code) byCode.set(code, identityFromCookie(req));
  });
  server.service.on("beforeTokenSigning", (token, req) => {
    const who = byCode.get(req.body?.code);
    if (!who) return;
    Object.assign(token.payload, {
      sub: who.sub,
      email: who.email,
      email_verified: who.verified,
      name: who.name,
    });
  });
  server.service.on("beforeResponse", (response, req) => {
    const who = byCode.get(req.body?.code);
    if (who && response.body.access_token) byAccessToken.set(response.body.access_token, who);
    byCode.delete(req.body?.code);
  });
  server.service.on("beforeUserinfo", (response, req) => {
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const who = byAccessToken.get(token);
    if (!who) {
      response.statusCode = 401;
      response.body = { message: "401: Unauthorized", code: 0 };
      return;
    }
    response.body = {
      id: who.sub,
      username: who.name.toLowerCase().replace(/[^a-z0-9_]/g, ""),
      global_name: who.name,
      email: who.email,
      verified: who.verified,
      avatar: null,
    };
  });
  await server.start(port, host);
  // The issuer the ID tokens name must be the address the app is configured with.
  server.issuer.url = `http://${host}:${port}`;
  return server;
}

await provider(googlePort, {});
await provider(discordPort, { userinfo: "/users/@me" });
console.log(`mock providers: Google-like on ${host}:${googlePort}, Discord-like on ${host}:${discordPort}`);
