"""The app's own processes for integration tests: the web server and a Celery worker, as the Procfile runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class Process:
    """One child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, *, timeout: float = 30, after: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output()[after:]:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no {text!r} within {timeout}s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole group at once: no shutdown handler, no requeue by a dying parent."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


def app_env(**settings: str) -> dict[str, str]:
    """Return the environment of an app process: this one's, without inherited app settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "MAIL_SERVER"}}
    env.update({"FLASK_APP": "app.py", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in settings.items()})
    return env


def flask(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run one `flask` command with `env`; return its output (raise with it on failure)."""
    done = subprocess.run(
        [str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


class Web(Process):
    """Gunicorn serving app:app, as the Procfile's web line."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.port = free_port()
        argv = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "app:app"]
        super().__init__("web", argv, env, log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Web:
        super().start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"web did not start:\n{self.output()[-3000:]}")


class Worker(Process):
    """A Celery worker with its embedded beat (-B), as `make run` starts one."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, concurrency: int = 1):
        argv = [
            str(BIN / "celery"), "-A", "workers.celery_app", "worker", "-B",
            "--schedule", str(log_dir / "celerybeat-schedule"),
            "--concurrency", str(concurrency), "--hostname", "test@%h", "--loglevel", "INFO",
        ]  # fmt: skip
        super().__init__("worker", argv, env, log_dir)

    def start(self, *, timeout: float = 60) -> Worker:
        mark = len(self.output())
        super().start()
        self.wait_for_output(" ready.", timeout=timeout, after=mark)
        return self
