"""A local Alertmanager webhook receiver for `make demo`: prints every notification it gets.

`make demo` renders Alertmanager's config so that every receiver (PagerDuty, Slack, …) becomes a
webhook to this sink on 127.0.0.1 (scripts/render_demo_config.py): notifications never leave the
machine, and a user sees them arrive, one line per alert:

    12:03:07 pagerduty-critical FIRING   MLErrorRatioHigh severity=critical model=cancer-screening …

    python scripts/webhook_sink.py --port 19095 [--host 127.0.0.1]

The path of the POST names the receiver (`/pagerduty-critical`). Bodies over 1 MiB or not in
Alertmanager's webhook shape are answered 400 and reported in one line; nothing raises.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
SHOWN_LABELS = ("severity", "cluster", "model", "version", "job", "instance", "feature")


def format_notification(receiver: str, payload: object) -> list[str]:
    """One line per alert of an Alertmanager webhook payload (version 4)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise ValueError("not an Alertmanager webhook payload (no 'alerts' list)")
    lines = []
    stamp = time.strftime("%H:%M:%S")
    for alert in payload["alerts"]:
        if not isinstance(alert, dict):
            continue
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        status = str(alert.get("status") or payload.get("status") or "?").upper()
        shown = " ".join(f"{k}={labels[k]}" for k in SHOWN_LABELS if k in labels)
        summary = str(annotations.get("summary", "")).replace("\n", " ")
        lines.append(f"{stamp} {receiver} {status:<8} {labels.get('alertname', '?')} {shown}"
                     + (f": {summary}" if summary else ""))
    return lines


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        receiver = self.path.strip("/") or "webhook"
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError(f"body of {length} bytes is over {MAX_BODY}")
            lines = format_notification(receiver, json.loads(self.rfile.read(length) or b"null"))
        except ValueError as exc:
            _emit(f"webhook sink: bad notification for {receiver}: {exc}")
            self.send_response(400)
            self.end_headers()
            return
        for line in lines:
            _emit(line)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


_OUTPUT = threading.Lock()  # one handler thread per request: lines must not interleave


def _emit(line: str) -> None:
    try:
        with _OUTPUT:  # one write per line: print() writes the text and the newline separately
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except BrokenPipeError:  # the terminal went away: keep answering Alertmanager
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        server = ThreadingHTTPServer((args.host, args.port), _Handler)
    except OSError as exc:
        print(f"error: webhook sink cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 2
    _emit(f"webhook sink listening on http://{args.host}:{args.port}/<receiver>")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
