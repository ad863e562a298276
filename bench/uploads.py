"""Benchmark of attachment uploads against a real Daphne: throughput and the server's peak
memory for many small files and one large one, on local storage and on an S3 API.

    .venv/bin/python bench/uploads.py                     # local and S3, 1 MB x 100, 200 MB x 1
    .venv/bin/python bench/uploads.py --storage local --small 100 --big-mb 200

Each run has its own data folder (a SQLite database and local media under a temporary
folder, removed afterwards), its own Daphne on a free loopback port, and for S3 its own moto
server (moto's server mode: the S3 API over HTTP, as R2 is reached). Uploads go through
POST /api/messaging/attachments/upload one request per file, as the composer sends them.
Peak memory is the growth of the Daphne process's VmHWM during a scenario (reset before it
through /proc/<pid>/clear_refs). Each result prints one line starting ``bench uploads``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1000 * 1000
MiB = 1024 * 1024
PASSWORD = "bench-pass-123"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--small", type=int, default=100, help="how many 1 MB files")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the large file, MB")
    return parser.parse_args(argv)


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> int:
    """Reset the process's peak RSS to its current RSS; returns that RSS in KiB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status_kib(pid, "VmRSS")


def payload(size: int) -> Iterator[bytes]:
    """A PDF-typed body of ``size`` bytes: a PDF header, then incompressible bytes."""
    head = b"%PDF-1.4\n%bench\n"
    block = os.urandom(MiB)
    yield head
    left = size - len(head)
    while left > 0:
        chunk = block[: min(left, len(block))]
        left -= len(chunk)
        yield chunk


def multipart(size: int, boundary: str) -> tuple[int, Iterator[bytes]]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="tenantId"\r\n\r\nbench\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="bench.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from payload(size)
        yield tail

    return len(head) + size + len(tail), body()


def upload(client: httpx.Client, size: int) -> None:
    boundary = uuid.uuid4().hex
    length, body = multipart(size, boundary)
    response = client.post(
        "/api/messaging/attachments/upload?tenantId=bench",
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        },
    )
    if response.status_code != 201:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")


def run(storage: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    from tests.attachments.servers import MotoS3Server
    from tests.live import free_port, login

    data = workdir / storage
    data.mkdir(parents=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "harbor_messaging.settings",
        "DJANGO_SECRET_KEY": "bench-uploads-secret-key-0123456789abcdef",
        "DJANGO_DEBUG": "0",
        "HARBOR_SECURE_COOKIES": "0",
        # One user uploads a hundred files in seconds: past the per-user upload limit
        # (60 a minute) meant for people, which would answer 429.
        "HARBOR_RATE_UPLOAD_USER": "100000/60",
        "HARBOR_RATE_UPLOAD_IP": "100000/60",
        "HARBOR_RATE_UPLOAD_TENANT": "100000/60",
        "HARBOR_DATA_DIR": str(data),
        "HARBOR_LOG_LEVEL": "WARNING",
        "TMPDIR": str(data),
    }
    for name in ("DATABASE_URL", "REDIS_URL", "GRIP_URL", "CLAMD_ADDRESS", "S3_BUCKET"):
        env.pop(name, None)
    moto = None
    if storage == "s3":
        moto = MotoS3Server(workdir / "moto").start()
        bucket = moto.make_bucket("harbor-bench")
        env.update(moto.env(bucket))
    lines = []
    daphne = None
    try:
        manage(env, "migrate", "-v0")
        manage(env, "create_tenant", "bench", "--name", "Bench")
        manage(env, "create_member", "ann", "--tenant", "bench", "--password", PASSWORD)
        manage(
            env,
            "shell",
            "-c",
            "from harbor_messaging.media.models import TenantMediaSettings as T;"
            "from harbor_messaging.tenants.models import Tenant;"
            f"T.objects.create(tenant=Tenant.objects.get(slug='bench'), max_file_size={512 * MiB})",
        )
        port = free_port()
        daphne = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "harbor_messaging.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=(data / "daphne.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not start")
            time.sleep(0.1)
        client = login(url, "ann", PASSWORD)
        client.timeout = httpx.Timeout(600.0)
        upload(client, 64 * 1024)  # warm-up: libmagic, storage client, code paths
        for label, count, size in (
            (f"{args.small} x 1 MB", args.small, 1 * MB),
            (f"1 x {args.big_mb} MB", 1, args.big_mb * MB),
        ):
            if count <= 0 or size <= 0:
                continue
            baseline = reset_peak(daphne.pid)
            started = time.perf_counter()
            for _ in range(count):
                upload(client, size)
            elapsed = time.perf_counter() - started
            peak = status_kib(daphne.pid, "VmHWM") - baseline
            total = count * size
            lines.append(
                f"bench uploads {storage:5s} {label:12s} {total / MB / elapsed:7.1f} MB/s "
                f"{elapsed:7.2f} s  {count / elapsed:6.1f} files/s  "
                f"peak RSS +{peak / 1024:.1f} MiB (server RSS {baseline / 1024:.0f} MiB before)"
            )
            print(lines[-1], flush=True)
        client.close()
    finally:
        if daphne is not None:
            daphne.terminate()
            daphne.wait(timeout=10)
        if moto is not None:
            moto.stop()
    return lines


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    storages = ["local", "s3"] if args.storage == "both" else [args.storage]
    workdir = Path(tempfile.mkdtemp(prefix="hm-bench-uploads-"))
    lines: list[str] = []
    try:
        for storage in storages:
            lines += run(storage, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
