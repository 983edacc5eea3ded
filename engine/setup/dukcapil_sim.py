"""A Dukcapil simulator for tests and the demo: the same `POST /nik/batch` as the real adapter
expects, answered from a CSV population, with switches to answer slowly, fail with 500s or drop
connections.

Population CSV: nik,nama,tanggal_lahir,jenis_kelamin,no_kk,kode_wilayah,status_hidup (hidup or
meninggal). Failures are drawn with a seeded random generator, so a run can be repeated.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COLUMNS = ["nik", "nama", "tanggal_lahir", "jenis_kelamin", "no_kk", "kode_wilayah", "status_hidup"]
MAX_NIKS = 100
MAX_BODY = 64 * 1024


@dataclass
class Behaviour:
    delay: float = 0.0  # seconds before every answer
    fail_rate: float = 0.0  # share of calls answered 500
    drop_rate: float = 0.0  # share of calls whose connection is closed without an answer
    seed: int = 0
    user: str = ""
    password: str = ""
    calls: int = 0
    failures: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._random.seed(self.seed)

    def draw(self) -> str:
        """What this call does: "drop", "fail" or "answer"."""
        with self._lock:
            self.calls += 1
            roll = self._random.random()
            outcome = (
                "drop" if roll < self.drop_rate else "fail" if roll < self.drop_rate + self.fail_rate else "answer"
            )
            self.failures += outcome != "answer"
            return outcome


def read_population(text: str) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"kolom populasi tidak ada: {', '.join(missing)}")
    return {row["nik"]: {c: row[c] for c in COLUMNS} for row in reader}


def _handler(population: dict[str, dict[str, str]], behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    expected = (
        "Basic " + base64.b64encode(f"{behaviour.user}:{behaviour.password}".encode()).decode()
        if behaviour.user
        else None
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests run it thousands of times
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, {"status": "ok", "penduduk": len(population)}) if self.path == "/health" else self._send(
                404, {"pesan": "tidak ada"}
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY))
            if expected and self.headers.get("Authorization") != expected:
                return self._send(401, {"pesan": "kredensial salah"})
            if self.path != "/nik/batch":
                return self._send(404, {"pesan": "tidak ada"})
            time.sleep(behaviour.delay)
            outcome = behaviour.draw()
            if outcome == "drop":
                self.close_connection = True
                self.connection.close()
                return None
            if outcome == "fail":
                return self._send(500, {"pesan": "galat simulasi"})
            try:
                niks = [str(n) for n in json.loads(body)["nik"]][:MAX_NIKS]
            except (ValueError, KeyError, TypeError):
                return self._send(400, {"pesan": 'isi harus {"nik": [...]}'})
            hasil = [
                {**population[n], "ditemukan": True} if n in population else {"nik": n, "ditemukan": False}
                for n in niks
            ]
            return self._send(200, {"hasil": hasil})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout) is expected here, not an error worth a traceback."""


def make_server(
    population: dict[str, dict[str, str]], behaviour: Behaviour, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """The simulator's server (port 0: any free port, read it from `server.server_port`)."""
    return _Server((host, port), _handler(population, behaviour))


def start_in_thread(population: dict[str, dict[str, str]], behaviour: Behaviour) -> ThreadingHTTPServer:
    server = make_server(population, behaviour)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
