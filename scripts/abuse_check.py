#!/usr/bin/env python3
"""Issue 16's abuse check against a running release build on this machine's loopback (started by
scripts/abuse-check, which trusts 127.0.0.1 as a proxy so that clients can be told apart by
X-Forwarded-For without real addresses). Standard library only; bounded in time and count.

  1. 50 concurrent decompression bombs (8192x8192 RGBA of zeros, ~260 KB each): their answers,
     the server's peak RSS, and the list endpoint's p99 meanwhile (SECURITY.md 36).
  2. 1,000 open event streams (125 users x 8 streams of one queued job): the list endpoint's p99
     before and during, the readers this costs, and the ninth stream's answer (SECURITY.md 39).
  3. 2,000 login attempts from rotating IPv6 addresses inside one /64, each with a fresh email,
     sent through the trusted-proxy header: how many are refused (SECURITY.md 40, 41).
  4. Password-reset requests for known and unknown addresses: the same answer in a similar time
     (SECURITY.md 45): medians within 5 ms.
  5. Billing webhooks whose signature header carries 100,000 entries: refused in under 50 ms each
     (issue 33, finding 1).
  6. PostgreSQL stopped and started again (ABUSE_DB_RESTART, a shell command) while 32 clients
     list, generate and cancel: the errors meanwhile, the seconds until every client is answered
     again, and afterwards whether every accepted job is there and each user's quota equals what
     their jobs were charged (nothing lost, nothing charged twice). Not in the short form.
Prints one table at the end, with each bound's verdict, and exits 1 if any bound is broken.

  ABUSE_URL   the server (default http://127.0.0.1:3091); ABUSE_PID its process id (for RSS)
  ABUSE_DB_RESTART  restarts the server's database (without it, check 4 is skipped)
  ABUSE_MAIL  MailDev's web API, where the server's verification mail goes (generating needs a
              verified email)
  ABUSE_SHORT=1  the short form CI runs: 300 logins instead of 2,000, no database restart
  ABUSE_WEBHOOK_SECRET  the server's STRIPE_WEBHOOK_SECRET (without it, check 5 is skipped)
  ABUSE_MAX_RSS_MIB, ABUSE_MAX_P99_RATIO, ABUSE_MAX_WEBHOOK_MS, ABUSE_MAX_RESET_SKEW_MS
              the bounds (defaults 500, 2, 50, 5), to see a broken bound fail the run
"""
import http.client
import json
import os
import random
import re
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zlib

BASE = os.environ.get("ABUSE_URL", "http://127.0.0.1:3091").rstrip("/")
HOST = urllib.parse.urlparse(BASE)
PID = os.environ.get("ABUSE_PID")
MAIL = os.environ.get("ABUSE_MAIL", "").rstrip("/")
PASSWORD = "correct horse battery staple 9"
SHORT = os.environ.get("ABUSE_SHORT") == "1"
MAX_RSS_MIB = float(os.environ.get("ABUSE_MAX_RSS_MIB", "500"))
MAX_P99_RATIO = float(os.environ.get("ABUSE_MAX_P99_RATIO", "2"))
MAX_WEBHOOK_MS = float(os.environ.get("ABUSE_MAX_WEBHOOK_MS", "50"))
MAX_RESET_SKEW_MS = float(os.environ.get("ABUSE_MAX_RESET_SKEW_MS", "5"))
rows = []  # (check, measured, expected, verdict): verdict True (held), False (broken), None (no bound)


def connect():
    return http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=60)


def request(method, path, body=None, headers=None, conn=None, forwarded=None):
    """One request; returns (status, parsed JSON or None, seconds)."""
    own = conn is None
    conn = conn or connect()
    h = dict(headers or {})
    h.setdefault("Origin", BASE)
    if forwarded:
        h["X-Forwarded-For"] = forwarded
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=h)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    if own:
        conn.close()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return response.status, parsed, elapsed


def register(index):
    """A fresh user, registered from its own forwarded address (registration is rate limited
    per client). Returns its bearer header."""
    email = f"abuse-{uuid.uuid4().hex[:12]}@example.com"
    status, body, _ = request("POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD},
                              forwarded=f"198.18.{index // 250}.{index % 250 + 1}")
    if status != 201:
        sys.exit(f"registering {email} answered {status}: {body}")
    return email, {"Authorization": "Bearer " + body["access_token"]}


def verify(emails):
    """Confirms each address with the link its verification mail carries, read from MailDev."""
    deadline = time.time() + 120
    while True:
        with urllib.request.urlopen(f"{MAIL}/email") as answer:
            mails = json.load(answer)
        tokens = {}
        for mail in mails:
            found = re.search(r"/verify-email\?token=([A-Za-z0-9_-]+)", mail.get("text") or "")
            if found:
                tokens[mail["to"][0]["address"]] = found.group(1)
        if all(email in tokens for email in emails):
            break
        if time.time() > deadline:
            sys.exit(f"verification mail arrived for {len(tokens)} of {len(emails)} users")
        time.sleep(0.5)
    for email in emails:
        status, body, _ = request("POST", "/api/v1/auth/email/confirm", {"token": tokens[email]})
        if status != 200:
            sys.exit(f"confirming {email} answered {status}: {body}")


def rss_mib():
    if not PID:
        return None
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


class RssSampler(threading.Thread):
    """Samples the server's RSS every 10 ms until stopped; keeps the peak."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = rss_mib() or 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mib() or 0.0)
            time.sleep(0.01)

    def stop(self):
        self.running = False
        self.join()
        return self.peak


def list_latencies(user, seconds, threads=4):
    """The list endpoint's latencies from `threads` keep-alive clients for `seconds`."""
    latencies, errors, stop = [], [], time.monotonic() + seconds

    def client():
        conn = connect()
        while time.monotonic() < stop:
            status, _, elapsed = request("GET", "/api/v1/images?limit=20", headers=user, conn=conn)
            (latencies if status == 200 else errors).append(elapsed)
        conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, len(errors)


def p99_ms(latencies):
    return statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) >= 100 else float("nan")


def bomb_png(side=8192):
    """An RGBA PNG of side x side zeros, compressed row by row (never 256 MiB in memory)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    compressor, row, parts = zlib.compressobj(9), b"\0" * (1 + side * 4), []
    for _ in range(side):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def multipart(file):
    boundary = "----abuse" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bomb.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + file + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def check_bombs(users, watcher):
    bomb = bomb_png()
    idle, _ = list_latencies(watcher, 5)
    sampler = RssSampler()
    before = rss_mib()
    sampler.start()
    statuses, during = [], []

    def upload(user):
        body, kind = multipart(bomb)
        status, _, _ = request("POST", "/api/v1/images/upload", body, {**user, "Content-Type": kind})
        statuses.append(status)

    uploads = [threading.Thread(target=upload, args=(users[i % len(users)],)) for i in range(50)]
    lister = threading.Thread(target=lambda: during.extend(list_latencies(watcher, 5)[0]))
    lister.start()
    for u in uploads:
        u.start()
    for u in uploads:
        u.join()
    lister.join()
    peak = sampler.stop()
    refused = sum(1 for s in statuses if s == 413)
    rows.append(("50 bomb uploads (8192x8192, %d KB): refused 413" % (len(bomb) // 1024), f"{refused}/50", "50/50",
                 refused == 50))
    if before is not None:
        rows.append(("  server RSS before -> peak during (MiB)", f"{before:.0f} -> {peak:.0f}", f"< {MAX_RSS_MIB:.0f}",
                     peak < MAX_RSS_MIB))
    rows.append(("  list p99 idle -> during bombs (ms)", f"{p99_ms(idle):.1f} -> {p99_ms(during):.1f}", "answering",
                 len(during) >= 100))


def check_streams(users, watcher):
    idle, _ = list_latencies(watcher, 8)
    streams, opened, refused_ninth = [], 0, None
    for user in users[:125]:
        status, body, _ = request("POST", "/api/v1/images/generate", {"prompt": "a penguin"}, user)
        if status != 202:
            sys.exit(f"generate answered {status}: {body}")
        path = f"/api/v1/jobs/{body['job']['job_id']}/events"
        for _ in range(8):
            conn = connect()
            conn.request("GET", path, headers={**user, "Accept": "text/event-stream"})
            response = conn.getresponse()
            if response.status == 200:
                response.fp.readline()  # the first event has arrived: the stream is open
                streams.append(conn)
                opened += 1
            else:
                conn.close()
        if refused_ninth is None:
            refused_ninth, _, _ = request("GET", path, headers=user)
    rss = rss_mib()
    during, errors = list_latencies(watcher, 8)
    ratio = p99_ms(during) / p99_ms(idle)
    rows.append(("open event streams (125 users x 8)", f"{opened}", "1000", opened == 1000))
    rows.append(("  a user's ninth stream", str(refused_ninth), "429", refused_ninth == 429))
    rows.append(("  list p99 idle -> with 1000 streams (ms)",
                 f"{p99_ms(idle):.1f} -> {p99_ms(during):.1f} ({ratio:.1f}x)", f"<= {MAX_P99_RATIO:g}x",
                 ratio <= MAX_P99_RATIO))
    if rss is not None:
        rows.append(("  server RSS with 1000 streams (MiB)", f"{rss:.0f}", "", None))
    rows.append(("  list errors meanwhile", str(errors), "0", errors == 0))
    for conn in streams:
        conn.close()


def check_logins():
    answers, attempts = {}, 300 if SHORT else 2000
    conn = connect()
    started = time.perf_counter()
    for _ in range(attempts):
        suffix = ":".join(f"{random.getrandbits(16):x}" for _ in range(4))
        email = f"nobody-{uuid.uuid4().hex[:12]}@example.com"
        status, _, _ = request("POST", "/api/v1/auth/login", {"email": email, "password": "wrong password"},
                               conn=conn, forwarded=f"2001:db8:abcd:12:{suffix}")
        answers[status] = answers.get(status, 0) + 1
    seconds = time.perf_counter() - started
    conn.close()
    refused = answers.get(429, 0)
    rows.append((f"{attempts} logins, rotating IPv6 in one /64: refused 429",
                 f"{refused} (401: {answers.get(401, 0)}; {seconds:.1f} s)", f">= {attempts - 5}",
                 refused >= attempts - 5))


def check_reset_timing(emails):
    """SECURITY.md 45: a reset request answers alike, in a similar time, for known and unknown
    addresses. Each known address is asked for 4 times (under the per-address limit), each
    request from an address of its own (under the per-client limit)."""
    known, unknown, statuses = [], [], set()
    for round_ in range(4):
        for index, email in enumerate(emails):
            for address, times in ((email, known), (f"nobody-{uuid.uuid4().hex[:12]}@example.com", unknown)):
                forwarded = f"198.19.{round_ * 2 + (times is unknown)}.{index + 1}"
                status, _, seconds = request("POST", "/api/v1/auth/password-reset", {"email": address},
                                             forwarded=forwarded)
                statuses.add(status)
                times.append(seconds * 1000)
    skew = abs(statistics.median(known) - statistics.median(unknown))
    rows.append((f"password-reset requests, {len(known)} known vs {len(unknown)} unknown: statuses",
                 ",".join(map(str, sorted(statuses))), "202", statuses == {202}))
    rows.append(("  median known -> unknown (ms)",
                 f"{statistics.median(known):.2f} -> {statistics.median(unknown):.2f} (skew {skew:.2f})",
                 f"skew < {MAX_RESET_SKEW_MS:g}", skew < MAX_RESET_SKEW_MS))


def check_webhook_flood():
    """Issue 33, finding 1: one HMAC per `v1=` entry made one request cost minutes of a core."""
    if not os.environ.get("ABUSE_WEBHOOK_SECRET"):
        rows.append(("webhook signature flood", "skipped (no ABUSE_WEBHOOK_SECRET)", "", None))
        return
    header = f"t={int(time.time())}" + ",v1=" * 100_000
    body = json.dumps({"id": "evt_flood", "type": "invoice.paid", "created": int(time.time()),
                       "data": {"object": {}}}).encode()
    times, statuses = [], set()
    for i in range(10):
        status, _, seconds = request("POST", "/api/v1/billing/webhook", body,
                                     {"Stripe-Signature": header, "Content-Type": "application/json"},
                                     forwarded=f"198.20.0.{i + 1}")
        statuses.add(status)
        times.append(seconds * 1000)
    rows.append(("webhook, 100,000 signature entries (400 KB header): answers",
                 ",".join(map(str, sorted(statuses))), "4xx", all(400 <= s < 500 for s in statuses)))
    rows.append(("  slowest of 10 refusals (ms)", f"{max(times):.1f}", f"< {MAX_WEBHOOK_MS:g}",
                 max(times) < MAX_WEBHOOK_MS))


class Client(threading.Thread):
    """One user listing, generating and cancelling in a loop until `until()` says stop; keeps
    the times of its failed requests (5xx or no answer) and the ids of its accepted jobs."""

    MAX_JOBS = 80  # the jobs list shows a user's newest 100

    def __init__(self, user, until):
        super().__init__(daemon=True)
        self.user, self.until, self.conn = user, until, None
        self.accepted, self.failures, self.requests = [], [], 0

    def call(self, method, path, body=None):
        self.requests += 1
        try:
            self.conn = self.conn or connect()
            status, answer, _ = request(method, path, body, self.user, conn=self.conn)
        except (OSError, http.client.HTTPException):
            self.conn = None
            status, answer = None, None
        if status is None or status >= 500:
            self.failures.append(time.monotonic())
        return status, answer

    def run(self):
        while not self.until():
            self.call("GET", "/api/v1/images?limit=20")
            if len(self.accepted) < self.MAX_JOBS:
                status, answer = self.call("POST", "/api/v1/images/generate", {"prompt": "a penguin"})
                if status == 202:
                    job = answer["job"]["job_id"]
                    self.accepted.append(job)
                    # Retried until answered: a queued job must not outlive an outage.
                    while self.call("POST", f"/api/v1/jobs/{job}/cancel")[0] not in (200, 409) and not self.until():
                        time.sleep(0.2)
            time.sleep(0.25)


def check_restart(users):
    restart = os.environ.get("ABUSE_DB_RESTART")
    if SHORT or not restart:
        rows.append(("database restart", "skipped (short form)" if SHORT else "skipped (no ABUSE_DB_RESTART)", "", None))
        return
    def job_ids(user):
        return {job["job_id"] for job in request("GET", "/api/v1/jobs", headers=user)[1]["items"]}

    up_at = None
    earlier = [job_ids(user) for user in users[:32]]
    clients = [Client(user, lambda: up_at is not None and time.monotonic() > up_at + 15) for user in users[:32]]
    for c in clients:
        c.start()
    time.sleep(5)
    down_at = time.monotonic()
    subprocess.run(restart, shell=True, check=True, stdout=subprocess.DEVNULL)
    up_at = time.monotonic()
    for c in clients:
        c.join()
    failures = sorted(t for c in clients for t in c.failures)
    recovered = max(0.0, failures[-1] - up_at) if failures else 0.0
    lost = charged_wrong = unanswered = 0
    for c, before in zip(clients, earlier):
        _, jobs, _ = request("GET", "/api/v1/jobs", headers=c.user)
        _, me, _ = request("GET", "/api/v1/users/me", headers=c.user)
        listed = {job["job_id"] for job in jobs["items"]}
        lost += sum(1 for job in c.accepted if job not in listed)
        unanswered += len(listed - before - set(c.accepted))
        charged_wrong += me["quota"]["used"] != sum(job["images_charged"] for job in jobs["items"])
    requests = sum(c.requests for c in clients)
    rows.append((f"database restart ({up_at - down_at:.1f} s down), 32 clients",
                 f"{len(failures)} of {requests} requests failed", "recovers", None))
    rows.append(("  seconds from database up to every client answered", f"{recovered:.1f}", "< 15",
                 recovered < 15))
    rows.append(("  accepted jobs missing; users charged wrong",
                 f"{lost} of {sum(len(c.accepted) for c in clients)}; {charged_wrong} of 32", "0; 0",
                 lost == 0 and charged_wrong == 0))
    if unanswered:
        rows.append(("  jobs made whose answer was lost (client saw an error)", str(unanswered), "", None))


def main():
    random.seed(16)
    registered = [register(i) for i in range(130)]
    verify([email for email, _ in registered[:125]])
    users = [user for _, user in registered]
    emails = [email for email, _ in registered]
    watcher = users[-1]
    check_bombs(users[:50], watcher)
    check_streams(users, watcher)
    check_logins()
    check_reset_timing(emails[:5])
    check_webhook_flood()
    check_restart(users)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'check':<{width}}  {'measured':<40}  {'bound':<14}  verdict")
    for check, measured, expected, verdict in rows:
        mark = "" if verdict is None else ("ok" if verdict else "BROKEN")
        print(f"{check:<{width}}  {measured:<40}  {expected:<14}  {mark}")
    broken = [r[0].strip() for r in rows if r[3] is False]
    if broken:
        print(f"\n{len(broken)} bound(s) broken: " + "; ".join(broken), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
