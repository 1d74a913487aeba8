"""Run several ``python -m <module> <args>`` calls in one interpreter, paying the imports once.

Usage: ``python tests/cli_batch.py <calls.json> <results.json>``. ``calls.json`` lists
``{"module", "args", "env"}``; each call runs as ``python -m`` would run it (``runpy`` with the
module as ``__main__`` and ``sys.argv`` set), with its output captured. ``results.json`` gets
``{"returncode", "stdout", "stderr"}`` per call. An exception that escapes a call is printed
with its traceback and gives status 1, as the interpreter would.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import traceback
from typing import Any

from hydra.core.global_hydra import GlobalHydra


def run_call(module: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one ``python -m module args`` in this interpreter; its status and output."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_env = dict(os.environ)
    os.environ.update(env)
    sys.argv = [module, *args]
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as exit_:
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            # hydra.main refuses to start while a previous call's instance is registered.
            GlobalHydra.instance().clear()
    os.environ.clear()
    os.environ.update(saved_env)
    return {"returncode": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


def main() -> None:
    """Read the calls, run them in order, write the results."""
    calls_file, results_file = sys.argv[1:3]
    with open(calls_file) as handle:
        calls = json.load(handle)
    results = [run_call(c["module"], c["args"], c.get("env", {})) for c in calls]
    with open(results_file, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
