// The card-form script for the browser tests, served the way Stripe serves Stripe.js.
//
// localstripe's stand-in for Stripe.js declares its helpers at the top level of a classic script,
// among them `class Element`, which then shadows the DOM's `Element` for every other script on
// the page: wasm-bindgen's `instanceof Element` checks fail and the app stops updating its page.
// Stripe.js keeps its names to itself; so does this copy, wrapped in a function. Every other
// request (the fake card form's calls to the API) passes through to localstripe unchanged.
//
//   LOCALSTRIPE_URL  where localstripe listens (default http://127.0.0.1:3022)
//   PROXY_PORT       where this listens (default 3023)
import http from "node:http";

const target = new URL(process.env.LOCALSTRIPE_URL ?? "http://127.0.0.1:3022");
const port = Number(process.env.PROXY_PORT ?? 3023);
const SCRIPT = "/js.stripe.com/v3/";

http
  .createServer((request, response) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers },
      (answer) => {
        if (request.url !== SCRIPT || answer.statusCode !== 200) {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          return;
        }
        const chunks = [];
        answer.on("data", (chunk) => chunks.push(chunk));
        answer.on("end", () => {
          const wrapped = `(function () {\n${Buffer.concat(chunks).toString("utf8")}\n})();\n`;
          const headers = { ...answer.headers, "content-length": Buffer.byteLength(wrapped) };
          delete headers["content-encoding"];
          response.writeHead(200, headers);
          response.end(wrapped);
        });
      },
    );
    upstream.on("error", (error) => {
      response.writeHead(502, { "content-type": "text/plain" });
      response.end(`localstripe is not answering: ${error.message}`);
    });
    request.pipe(upstream);
  })
  .listen(port, "127.0.0.1", () => console.log(`localstripe's card form, wrapped, on 127.0.0.1:${port}`));
