"""The user's side of scripts/image-check: sign in to the web container, generate with the starter
model (a `server worker` process on the host runs it), fetch the image and find its files in the
S3-compatible store. Runs with the moto environment's Python (boto3 comes with moto).

Usage: image_check.py BASE_URL EMAIL PASSWORD S3_ENDPOINT BUCKET
Prints one line per step with its seconds; exits 1 at the first step that fails.
"""

import json
import struct
import sys
import time

import boto3

import api_client

BASE, EMAIL, PASSWORD, S3_ENDPOINT, BUCKET = sys.argv[1:6]
STARTED = time.monotonic()


def step(name, ok, detail=""):
    print(f"  {time.monotonic() - STARTED:6.1f} s  {'ok  ' if ok else 'FAIL'}  {name}  {detail}", flush=True)
    if not ok:
        sys.exit(1)


def call(method, path, body=None, token=None):
    return api_client.call(BASE, method, path, body, token)


status, body = call("POST", "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD})
step("sign in", status == 200, f"HTTP {status}")
token = json.loads(body)["access_token"]

status, body = call(
    "POST",
    "/api/v1/images/generate",
    {"prompt": "a penguin", "steps": 8, "width": 64, "height": 64, "seed": 35},
    token,
)
step("generate (queued)", status == 202, f"HTTP {status} {body[:200]!r}")
job_id = json.loads(body)["job"]["job_id"]

deadline = time.monotonic() + 180
job = {}
while time.monotonic() < deadline:
    status, body = call("GET", f"/api/v1/jobs/{job_id}", token=token)
    job = json.loads(body)
    if job["status"] in ("completed", "failed", "cancelled"):
        break
    time.sleep(0.5)
step("the worker process completed the job", job.get("status") == "completed", f"{job.get('status')} {job.get('error') or ''}")

image_id = job["image_ids"][0]
status, png = call("GET", f"/api/v1/images/{image_id}/file", token=token)
width, height = struct.unpack(">II", png[16:24]) if png[:8] == b"\x89PNG\r\n\x1a\n" else (0, 0)
step("the image's PNG through the web container", status == 200 and (width, height) == (64, 64), f"{len(png)} bytes, {width}x{height}")

s3 = boto3.client(
    "s3", endpoint_url=S3_ENDPOINT, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
mine = [k for k in keys if image_id in k]
step("its original and thumbnail in the object store", len(mine) == 2, ", ".join(sorted(mine)))
