"""The naive baseline: POST every dashboard file to /api/dashboards/db, one after another.

This is what grafanalib's upload example and simple import scripts do: no reads, no
comparison, `overwrite: true`, a fresh `requests.post` per dashboard. Run as a script:
`python bench/naive_upload.py URL TOKEN FOLDER_UID FILE...` (the token is a benchmark dummy).
"""

from __future__ import annotations

import json
import sys

import requests


def upload(url: str, token: str, folder_uid: str, files: list[str]) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    requests.post(f"{url}/api/folders", json={"uid": folder_uid, "title": folder_uid},
                  headers=headers, timeout=30)  # 409 when it exists: ignored, as such scripts do
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as fh:
            dashboard = json.load(fh)
        body = {"dashboard": dashboard, "overwrite": True, "folderUid": folder_uid}
        resp = requests.post(f"{url}/api/dashboards/db", data=json.dumps(body), headers=headers,
                             timeout=30)
        failed += resp.status_code != 200
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(upload(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
