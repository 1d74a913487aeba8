"""The GPU-host scripts: set-up, log and exit status, with stand-ins for nvidia-smi and Python."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    """A PATH folder whose nvidia-smi names a GPU and whose python logs its arguments."""
    folder = tmp_path / "bin"
    folder.mkdir()
    _stub(folder, "nvidia-smi", 'echo "name, memory.total"; echo "Stub H200, 141 GiB"\n')
    _stub(
        folder, "stubpy", 'echo "ran: $*"; [ "$2" = "lus_unet.bench.gpu_real" ] && exit 3; exit 0\n'
    )
    return folder


def _run(script: str, stubs: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "OUT": str(out),
        "PYTHON": "stubpy",
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_gpu_bench_logs_the_gpu_and_runs_the_gpu_sections(stubs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run("gpu_bench.sh", stubs, out)
    assert done.returncode == 0, done.stdout + done.stderr
    log = (out / "bench.log").read_text()
    assert "Stub H200" in log
    assert f"ran: -m lus_unet.bench --only despeckle,throughput,gpu --out {out}" in log


def test_gpu_check_passes_overrides_and_returns_the_runs_status(
    stubs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = _run("gpu_check.sh", stubs, out, "data.batch_size=64")
    assert done.returncode == 3
    log = (out / "gpu_check.log").read_text()
    assert "Stub H200" in log
    assert f"--out {out} paths.cache_dir={out}/cache data.batch_size=64" in log
    assert "lus_unet.bench.gpu_real exited with 3" in log
