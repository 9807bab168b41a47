"""A real S3-compatible server for tests: moto's standalone server as a process on a free local port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .services import free_port

BIN = Path(sys.executable).parent
# moto accepts any credentials; these only have to be present for boto3 to sign its requests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ktt-test-key", "AWS_SECRET_ACCESS_KEY": "ktt-test-secret"}
REGION = "us-east-1"


class MotoServer:
    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.log = log_dir / "moto.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"moto_server did not start:\n{self.log.read_text(errors='replace')[-2000:]}")

    def client(self):
        """Return a boto3 S3 client of this server (as the operator's tools would see the bucket)."""
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self) -> str:
        """Create a bucket whose objects anyone may read, as the README asks, and return its name."""
        name = f"ktt-media-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        public_read = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
            ],
        }
        client.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read))
        return name

    def settings(self, bucket: str) -> dict[str, str]:
        """Return the environment an app process needs to keep its photos in `bucket` here."""
        return {
            "KTT_STORAGE": "s3",
            "KTT_S3_BUCKET": bucket,
            "KTT_S3_ENDPOINT_URL": self.url,
            "KTT_S3_REGION": REGION,
            **CREDENTIALS,
        }

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
