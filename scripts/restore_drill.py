"""The users' side of scripts/restore-drill, and its checks. Runs with the moto environment's
Python (boto3 comes with moto); talks to PostgreSQL through psql.

  restore_drill.py load BASE_URL WORK          queue jobs from three users until told to stop;
                                               pick the recovery target when the backup is done
  restore_drill.py copy-objects S3_URL WORK    copy the images bucket to its backup bucket
  restore_drill.py verify S3_URL WORK DB_URL   check the restored cluster; print the table

The load and the bash side meet through files in WORK: `loading` (jobs are being accepted),
`backed-up` (the full backup finished), `target` (the recovery target time), `done`.
"""

import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import boto3

import api_client

USERS = ["ada@example.com", "bob@example.com", "cyd@example.com"]
PASSWORD = "correct-horse-battery"


def call(base, method, path, body=None, token=None):
    status, raw = api_client.call(base, method, path, body, token)
    return status, (json.loads(raw) if status < 300 and raw else raw)


def psql(url, sql):
    return subprocess.run(["psql", url, "-qAtc", sql], check=True, capture_output=True, text=True).stdout.strip()


def load(base, work):
    work = pathlib.Path(work)
    owner = os.environ["DATABASE_URL"]
    # Accounts made by the operator have no mail to confirm; quotas would stop the load long
    # before the drill does.
    psql(owner, "UPDATE users SET email_verified = true, monthly_image_quota = 1000000")
    tokens = []
    for email in USERS:
        status, body = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, f"sign in {email}: {status} {body}"
        tokens.append(body["access_token"])
    accepted, after, lock, stop, target_known = [], [], threading.Lock(), threading.Event(), threading.Event()
    refused = []

    def user(token, index):
        n = 0
        while not stop.is_set():
            # A request sent once the target is known commits after it; one in flight while the
            # target was read may land on either side, and is not checked.
            sent_after_target = target_known.is_set()
            params = {"prompt": f"a penguin {index}-{n}", "steps": 2, "width": 64, "height": 64, "seed": n}
            status, body = call(base, "POST", "/api/v1/images/generate", params, token)
            if status == 202:
                with lock:
                    accepted.append(body["job"]["job_id"])
                    if sent_after_target:
                        after.append(body["job"]["job_id"])
            else:
                refused.append(status)
                time.sleep(1)
            n += 1
            time.sleep(0.3)

    threads = [threading.Thread(target=user, args=(t, i)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    while len(accepted) < 6:
        time.sleep(0.1)
    (work / "loading").touch()
    while not (work / "backed-up").exists():
        time.sleep(0.1)
    time.sleep(3)  # more jobs and images after the backup: only WAL has them
    with lock:
        before = list(accepted)  # every one of these was answered 202, so committed, before T
    target = psql(owner, "SELECT clock_timestamp()")
    target_known.set()
    time.sleep(3)  # and some after T, which the restore must not have
    stop.set()
    for thread in threads:
        thread.join()
    (work / "accepted.json").write_text(json.dumps({"before": before, "after": after, "in_flight": len(accepted) - len(before) - len(after), "refused": refused}))
    (work / "target").write_text(target)
    (work / "done").touch()


def s3(url):
    return boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")


def copy_objects(url, work):
    client = s3(url)
    copied = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="pingvas-images"):
        for item in page.get("Contents", []):
            client.copy_object(Bucket="pingvas-images-backup", Key=item["Key"], CopySource={"Bucket": "pingvas-images", "Key": item["Key"]})
            copied += 1
    pathlib.Path(work, "objects_copied").write_text(str(copied))


def verify(url, work, db):
    work = pathlib.Path(work)
    accepted = json.loads((work / "accepted.json").read_text())
    restored_jobs = set(psql(db, "SELECT job_id FROM generation_jobs").split())
    missing = [j for j in accepted["before"] if j not in restored_jobs]
    after_present = [j for j in accepted["after"] if j in restored_jobs]
    images = [line.split("|") for line in psql(db, "SELECT storage_key, thumbnail_key FROM images").splitlines() if line]
    keys = set()
    for page in s3(url).get_paginator("list_objects_v2").paginate(Bucket="pingvas-images-backup"):
        keys.update(item["Key"] for item in page.get("Contents", []))
    objects_missing = [k for row in images for k in row if k not in keys]
    users = psql(db, "SELECT count(*) FROM users")
    recovery_ms = int((work / "recovery_ms").read_text())
    rows = [
        ("jobs accepted before the target", len(accepted["before"]), f"{len(accepted['before']) - len(missing)} restored"),
        ("jobs sent after the target", len(accepted["after"]), f"{len(after_present)} restored (expected 0)"),
        ("jobs in flight at the target", accepted["in_flight"], "either side is right: not checked"),
        ("users restored", users, ""),
        ("image rows restored", len(images), f"{len(images) * 2 - len(objects_missing)} of {len(images) * 2} objects in the backup bucket"),
        ("objects copied to the backup bucket", (work / "objects_copied").read_text(), ""),
        ("recovery time (restore to promoted)", f"{recovery_ms / 1000:.1f} s", f"target {(work / 'target').read_text()}"),
    ]
    print()
    print(f"  {'check':40} {'count':>8}  result")
    for name, count, result in rows:
        print(f"  {name:40} {count!s:>8}  {result}")
    failures = []
    if missing:
        failures.append(f"{len(missing)} accepted job(s) missing after the restore: {missing[:3]}")
    if after_present:
        failures.append(f"{len(after_present)} job(s) sent after the target were restored: the recovery overshot")
    if objects_missing:
        failures.append(f"{len(objects_missing)} object(s) of restored image rows missing: {objects_missing[:3]}")
    if not images or not accepted["before"] or not accepted["after"]:
        failures.append("the drill checked nothing: no images or no jobs on one side of the target")
    for failure in failures:
        print(f"FAIL: {failure}")
    print("restore drill: " + ("FAILED" if failures else "passed"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "load":
        load(sys.argv[2], sys.argv[3])
    elif command == "copy-objects":
        copy_objects(sys.argv[2], sys.argv[3])
    elif command == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {command}")
