"""Servers the attachment tests start on their own ports and sockets: moto's S3 API server
and clamd with a signature database the tests write."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.live import free_port
from tests.processes import spawn, stop, wait_ready

from .files import EICAR, EICAR_MD5


class MotoS3Server:
    """moto's server mode: a real S3 API over HTTP on a loopback port of its own."""

    ACCESS_KEY = "harbor-test-key"
    SECRET_KEY = "harbor-test-secret"
    REGION = "auto"  # as R2 wants it

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoS3Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = spawn(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            self.workdir / "moto.out",
        )

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True

        wait_ready(
            self.process, ready, what="moto server", log=self.workdir / "moto.out", timeout=timeout
        )
        return self

    def client(self, region: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            region_name=region or self.REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def make_bucket(self, name: str) -> str:
        # "auto" is R2's region; moto, like S3, takes a bucket made in us-east-1 for it.
        self.client("us-east-1").create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def env(self, bucket: str) -> dict[str, str]:
        """The S3_* variables of API.md that point the app at this server."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.url,
            "S3_ACCESS_KEY_ID": self.ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": self.SECRET_KEY,
            "S3_REGION": self.REGION,
        }

    def storage_options(self, bucket: str) -> dict[str, Any]:
        return {
            "bucket_name": bucket,
            "endpoint_url": self.url,
            "access_key": self.ACCESS_KEY,
            "secret_key": self.SECRET_KEY,
            "region_name": self.REGION,
            "signature_version": "s3v4",
            "addressing_style": "path",
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 300,
        }

    def stop(self) -> None:
        stop(self.process)
        self.process = None


class ClamdServer:
    """clamd on a unix socket of its own, with only the EICAR signature (an MD5 .hdb)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.socket_path = workdir / "clamd.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("clamd") is not None or Path("/usr/sbin/clamd").exists()

    @property
    def address(self) -> str:
        return str(self.socket_path)

    def start(self, timeout: float = 60.0) -> ClamdServer:
        database = self.workdir / "db"
        database.mkdir(parents=True, exist_ok=True)
        (database / "harbor-test.hdb").write_text(f"{EICAR_MD5}:{len(EICAR)}:Harbor.Test.EICAR\n")
        config = self.workdir / "clamd.conf"
        config.write_text(
            f"LocalSocket {self.socket_path}\n"
            f"DatabaseDirectory {database}\n"
            "Foreground yes\n"
            f"LogFile {self.workdir / 'clamd.log'}\n"
            f"PidFile {self.workdir / 'clamd.pid'}\n"
            # Larger than any file the tests send, so INSTREAM never cuts one short.
            "StreamMaxLength 300M\n"
            "MaxFileSize 300M\n"
            "MaxScanSize 300M\n"
        )
        binary = shutil.which("clamd") or "/usr/sbin/clamd"
        self.process = spawn([binary, "-c", str(config)], self.workdir / "clamd.out")

        def ready() -> bool:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(b"zPING\0")
                return sock.recv(16).startswith(b"PONG")

        wait_ready(
            self.process,
            ready,
            what="clamd",
            log=self.workdir / "clamd.out",
            timeout=timeout,
            interval=0.2,
        )
        return self

    def stop(self) -> None:
        stop(self.process)
        self.process = None
