"""What every benchmark script shares: the report's rows, percentiles and peak-memory sampling.

The row protocol: when KTT_BENCH_JSON=<path> is set, a benchmark writes there a JSON list of rows
    {"benchmark": str, "figure": str, "value": number, "unit": str,
     "baseline": str, "baseline_value": number | null, "note": str}
beside its human-readable printout; `scripts/bench.py` collects them into bench/report.{json,md}.
The file is rewritten after every row, so a benchmark that fails half-way still reports what it measured.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV = "KTT_BENCH_JSON"


@dataclass
class Row:
    benchmark: str
    figure: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    note: str = ""


class Rows:
    """The rows of one benchmark script, written to $KTT_BENCH_JSON (when set) as they come."""

    def __init__(self, benchmark: str, path: str | None = None):
        self.benchmark = benchmark
        self.path = Path(path) if path else (Path(os.environ[ENV]) if os.environ.get(ENV) else None)
        self.rows: list[Row] = []

    def add(
        self,
        figure: str,
        value: float,
        unit: str,
        *,
        baseline: str = "",
        baseline_value: float | None = None,
        note: str = "",
    ) -> Row:
        """Record one figure (beside the baseline it is compared with, if any) and rewrite the file."""
        row = Row(self.benchmark, figure, _number(value), unit, baseline, _number(baseline_value), note)
        self.rows.append(row)
        self.write()
        return row

    def write(self) -> None:
        """Write every row so far to the file, if there is one."""
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps([asdict(r) for r in self.rows], ensure_ascii=False, indent=1))
        tmp.replace(self.path)


def _number(value: float | None) -> float | None:
    # JSON has no NaN or infinity; a figure that could not be measured is null.
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(value, 3) if isinstance(value, float) else value


def percentile(values: list[float], p: float) -> float:
    """Return the `p`th percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- memory


def proc_status(pid: int) -> dict[str, int]:
    """Return VmHWM and VmRSS (kB) of process `pid` from /proc/<pid>/status; empty once it has ended."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(rest.split()[0])
    return out


def children_of(pid: int) -> list[int]:
    """Return the ids of the live direct children of `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:  # state, then the parent's id
            found.append(int(stat.parent.name))
    return found


@dataclass
class Peak:
    """The highest memory seen of one kind of process, over every process of that kind."""

    hwm_kb: int = 0  # the kernel's own high-water mark (VmHWM): catches peaks between two samples
    rss_kb: int = 0  # the largest VmRSS sampled
    pids: set[int] = field(default_factory=set)
    samples: int = 0

    @property
    def hwm_mb(self) -> float:
        return self.hwm_kb / 1024

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024


class PeakSampler(threading.Thread):
    """Sample the memory of kinds of processes every `interval` seconds until stopped.

    `kinds` maps a name ("web worker") to a function returning the ids of the processes of that kind
    now: called on every sample, so that a process started or replaced meanwhile is counted too.
    """

    def __init__(self, kinds: dict[str, Callable[[], Iterable[int]]], interval: float = 0.2):
        super().__init__(daemon=True)
        self.kinds = kinds
        self.interval = interval
        self.peaks = {name: Peak() for name in kinds}
        self._stop_event = threading.Event()

    def sample(self) -> None:
        """Take one sample of every kind."""
        for name, pids in self.kinds.items():
            peak = self.peaks[name]
            for pid in pids():
                status = proc_status(pid)
                if not status:
                    continue
                peak.pids.add(pid)
                peak.samples += 1
                peak.hwm_kb = max(peak.hwm_kb, status.get("VmHWM", 0))
                peak.rss_kb = max(peak.rss_kb, status.get("VmRSS", 0))

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            time.sleep(self.interval)

    def stop(self) -> dict[str, Peak]:
        """Stop sampling after one last sample; return the peaks by kind."""
        self._stop_event.set()
        self.join(timeout=10)
        self.sample()
        return self.peaks
