"""The REST API as the scripts' Python sees it (image_check.py, restore_drill.py): one call."""

import json
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None):
    """`method path` on `base` with an optional JSON body and bearer token: (status, body bytes).
    An error status is returned, not raised."""
    request = urllib.request.Request(base + path, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
