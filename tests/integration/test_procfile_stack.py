"""The stack started the way the Procfile says, as a process manager would, on PostgreSQL, Redis and an S3 bucket.

Each line of the Procfile is run as honcho or a platform runs it: `/bin/sh -c <the line>` with PORT and the
other variables in the environment, each process in a process group of its own. Release first (the
migrations), then two web processes (WEB_CONCURRENCY=2 each), two workers with different node names and
exactly one beat. A buyer logs in on one web process and checks out on the other with the same session
cookie, and each cooperative's new-order e-mail arrives exactly once.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.support.factories import PASSWORD
from tests.support.processes import BIN, ROOT, Process
from tests.support.s3 import MotoServer
from tests.support.services import free_port
from tests.support.shopper import Shopper, hidden

pytestmark = pytest.mark.postgres_only

PROCFILE = ROOT / "Procfile"


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """Return the Procfile's process types and their command lines, as written."""
    commands = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        assert sep and re.fullmatch(r"[a-z][a-z0-9_-]*", name.strip()), f"not a Procfile line: {line!r}"
        commands[name.strip()] = command.strip()
    return commands


class ProcfileProcess(Process):
    """One Procfile line run by the shell, in the release's folder, in a process group of its own."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path, cwd: Path):
        super().__init__(name, ["/bin/sh", "-c", command], env, log_dir)
        self.cwd = cwd

    def start(self) -> ProcfileProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def group_alive(self) -> bool:
        self.proc.poll()  # reap the shell: a zombie still counts as a member of its group
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def terminate(self) -> None:
        """Ask the whole group to stop, as a process manager does (SIGTERM)."""
        if self.proc is not None and self.group_alive():
            os.killpg(self.proc.pid, signal.SIGTERM)


def stop_all(processes: list[ProcfileProcess], *, timeout: float = 20) -> list[str]:
    """SIGTERM every group, wait until each is empty, SIGKILL what is left; return the names that needed it."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.proc is not None and p.group_alive() for p in processes):
        time.sleep(0.05)
    killed = []
    for process in processes:
        if process.proc is not None and process.group_alive():
            killed.append(process.name)
            os.killpg(process.proc.pid, signal.SIGKILL)
        if process.proc is not None:
            process.proc.wait(timeout=10)
    return killed


def wait_for_web(web: ProcfileProcess, port: int, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.proc.poll() is not None:
            raise RuntimeError(f"{web.name} exited:\n{web.output()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{web.name} did not answer within {timeout}s:\n{web.output()[-3000:]}")


@pytest.fixture
def moto(tmp_path):
    server = MotoServer(tmp_path / "moto").start()
    yield server
    server.stop()


@pytest.fixture
def stack(stack_env, moto, tmp_path):
    """Release, then 2 web, 2 worker and 1 beat processes from the Procfile's own lines; all stopped after."""
    commands = procfile_commands()
    assert {"release", "web", "worker", "beat"} <= commands.keys()
    bucket = moto.create_bucket()
    # The processes run in a folder of their own with the code on PYTHONPATH, as from a release directory:
    # beat's relative `instance/celerybeat-schedule` is then this test's instance folder, not the checkout's.
    home = tmp_path
    (home / "instance").mkdir(exist_ok=True)
    assert Path(stack_env["KTT_INSTANCE_PATH"]) == home / "instance"
    env = {
        **stack_env,
        **moto.settings(bucket),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "FLASK_APP": str(ROOT / "app.py"),
    }
    started = time.monotonic()
    release = subprocess.run(
        ["/bin/sh", "-c", commands["release"]], cwd=home, env=env, capture_output=True, text=True, timeout=120
    )
    assert release.returncode == 0, release.stdout + release.stderr
    released = time.monotonic()
    ports = [free_port(), free_port()]
    webs = [
        ProcfileProcess(f"web.{i}", commands["web"], {**env, "PORT": str(port), "WEB_CONCURRENCY": "2"}, home, home)
        for i, port in enumerate(ports, 1)
    ]
    # What tells two workers apart on two hosts is the host; on one machine, the node name (Celery reads
    # CELERY_WORKER_HOSTNAME as --hostname).
    workers = [
        ProcfileProcess(f"worker.{i}", commands["worker"], {**env, "CELERY_WORKER_HOSTNAME": f"w{i}@%h"}, home, home)
        for i in (1, 2)
    ]
    beat = ProcfileProcess("beat.1", commands["beat"], env, home, home)
    everything = [*webs, *workers, beat]
    try:
        for process in everything:
            process.start()
        for web, port in zip(webs, ports, strict=True):
            wait_for_web(web, port)
        for i, worker in enumerate(workers, 1):
            worker.wait_for_output(f"w{i}@", timeout=60)
            worker.wait_for_output(" ready.", timeout=60)
        beat.wait_for_output("beat: Starting", timeout=60)
        yield {
            "webs": [f"http://127.0.0.1:{port}" for port in ports],
            "workers": workers,
            "beat": beat,
            "bucket": bucket,
            "public": f"{moto.url}/{bucket}",
            "started": started,
            "phases": f"release {released - started:.1f}s, 5 processes ready {time.monotonic() - released:.1f}s",
        }
    finally:
        killed = stop_all(everything)
    # Gunicorn, Celery and beat all stop on SIGTERM, children included, as a platform's restart needs.
    assert killed == [], f"still running {killed} 20 s after SIGTERM"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "#6a8f3a").save(out, "JPEG")
    return out.getvalue()


def test_a_purchase_across_two_web_processes_brings_each_cooperative_one_email(
    stack, mailbox, moto, make_unit, make_staff, make_user, make_product
):
    web1, web2 = stack["webs"]
    buoi_unit = make_unit(name="HTX Bưởi Trà Vinh")
    make_staff(buoi_unit, make_user(full_name="Trần Văn Bưởi", email="manager@htx-buoi.vn"))
    dua_unit = make_unit(name="HTX Dừa Cầu Kè")
    make_staff(dua_unit, make_user(full_name="Lê Thị Dừa", email="manager@htx-dua.vn"))
    buoi = make_product(buoi_unit, name="Bưởi da xanh", price_vnd=60_000, stock=50)
    dua = make_product(dua_unit, name="Dừa sáp", price_vnd=45_000, stock=30)
    buyer = make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn")

    # The cooperative adds a photo on web #1; it goes to the bucket every web process shares.
    manager = Shopper(web1).login("manager@htx-buoi.vn", PASSWORD)
    page = f"/manage/products/{buoi.id}/images"
    uploaded = manager.http.post(
        web1 + page,
        data={"csrf_token": hidden(manager.get(page).text, "csrf_token"), "alt": "Bưởi da xanh"},
        files={"file": ("buoi.jpg", jpeg(), "image/jpeg")},
        timeout=30,
    )
    assert uploaded.ok and uploaded.url.endswith(page), uploaded.text[:1000]
    in_bucket = {o["Key"] for o in moto.client().list_objects_v2(Bucket=stack["bucket"])["Contents"]}
    assert len(in_bucket) == 2  # the photo and its thumbnail, on no web host's disk

    # The buyer logs in and fills the cart on web #1 ...
    shopper = Shopper(web1).login(buyer.email, PASSWORD)
    shopper.add(buoi.id, 2)
    shopper.add(dua.id, 1)
    # ... and goes on on web #2 with the same cookie: the session is good on every process sharing SECRET_KEY.
    shopper.base = web2
    product_page = shopper.get(f"/p/{buoi.id}").text
    image = re.search(rf'<img src="{re.escape(stack["public"])}/([0-9a-f]{{32}}\.\w+)"', product_page)
    assert image and image.group(1) in in_bucket, product_page[:2000]
    loaded = requests.get(f"{stack['public']}/{image.group(1)}", timeout=10)  # as the buyer's browser does
    assert loaded.status_code == 200 and loaded.headers["Content-Type"].startswith("image/")
    cart = shopper.get("/cart").text
    assert "Bưởi da xanh" in cart and "Dừa sáp" in cart
    number = shopper.checkout()
    receipt = shopper.get(f"/orders/{number}").text
    assert "HTX Bưởi Trà Vinh" in receipt and "HTX Dừa Cầu Kè" in receipt

    for address in ("manager@htx-buoi.vn", "manager@htx-dua.vn", "lan@example.vn"):
        mailbox.wait_for(1, to=address, timeout=20)
    time.sleep(3)  # three dispatcher runs of the one beat, two workers: a duplicate would arrive now
    [to_buoi] = mailbox.to("manager@htx-buoi.vn")
    [to_dua] = mailbox.to("manager@htx-dua.vn")
    [receipt_mail] = mailbox.to("lan@example.vn")
    assert number in to_buoi.subject and "Bưởi da xanh" in to_buoi.text() and "Dừa sáp" not in to_buoi.text()
    assert number in to_dua.subject and "Dừa sáp" in to_dua.text() and "Bưởi da xanh" not in to_dua.text()
    assert number in receipt_mail.subject
    assert len({m.message_id for m in mailbox.received}) == len(mailbox.received) == 3
    elapsed = time.monotonic() - stack["started"]
    print(f"procfile stack: {stack['phases']}, release to last e-mail {elapsed:.1f}s")

    # Each worker node reports on its own: the admin sees both alive, on either web process.
    admin = make_user("admin", email="admin@ktt.vn")
    health = Shopper(web2).login(admin.email, PASSWORD).get("/admin/health/").text
    rows = re.findall(r"<tr>\s*<td>(w[12]@[^<]+)</td>.*?</tr>", health, flags=re.S)
    assert sorted(name[:3] for name in rows) == ["w1@", "w2@"], health[:3000]
    assert health.count('class="badge ok"') >= 2
