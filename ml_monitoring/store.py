"""Predictions waiting for their ground truth, by prediction id (bounded; oldest evicted first).

`MemoryStore` serves a single process. With several worker processes (prometheus_client
multiprocess mode) a label may reach another worker than the prediction did, so `SqliteStore`
keeps them in one SQLite file in the multiprocess directory, shared by all workers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import NamedTuple


class Pending(NamedTuple):
    """A tuple of atoms, so the garbage collector stops tracking it (100 000 of them wait)."""

    version: str
    predicted: int  # class index
    proba: tuple[float, ...]  # class probabilities
    at: float  # prediction time (Unix seconds, or the caller's clock)


class MemoryStore:
    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = max_items
        self._items: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def put(self, pid: str, item: Pending) -> None:
        with self._lock:
            self._items[pid] = item
            if len(self._items) > self.max_items:
                del self._items[next(iter(self._items))]

    def pop(self, pid: str) -> Pending | None:
        with self._lock:
            return self._items.pop(pid, None)

    def __len__(self) -> int:
        return len(self._items)


class SqliteStore:
    """One SQLite file shared by the worker processes (WAL; no fsync: it is a cache)."""

    def __init__(self, path: str, model: str, max_items: int = 100_000) -> None:
        self.path = path
        self.model = model
        self.max_items = max_items
        self._local = threading.local()
        self._puts = 0
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS pending (model TEXT, id TEXT, version TEXT, "
                      "predicted INTEGER, proba TEXT, at REAL, stored REAL, "
                      "PRIMARY KEY (model, id))")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
        return conn

    def put(self, pid: str, item: Pending) -> None:
        c = self._conn()
        c.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (self.model, pid, item.version, item.predicted, json.dumps(item.proba),
                   item.at, time.time()))
        self._puts += 1
        if self._puts % 1000 == 0:
            c.execute("DELETE FROM pending WHERE model = ? AND rowid NOT IN (SELECT rowid FROM "
                      "pending WHERE model = ? ORDER BY stored DESC LIMIT ?)",
                      (self.model, self.model, self.max_items))

    def pop(self, pid: str) -> Pending | None:
        c = self._conn()
        row = c.execute("DELETE FROM pending WHERE model = ? AND id = ? "
                        "RETURNING version, predicted, proba, at", (self.model, pid)).fetchone()
        if row is None:
            return None
        return Pending(row[0], int(row[1]), tuple(json.loads(row[2])), float(row[3]))

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM pending WHERE model = ?",
                                    (self.model,)).fetchone()[0]
