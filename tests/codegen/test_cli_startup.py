"""``leveret`` commands import jsonschema only when they check a definition (r12 finding 13).

jsonschema imports its format checkers, and with ``rfc3987-syntax`` installed (the
``jsonschema[format-nongpl]`` extra) that took about two seconds: ``leveret describe
queue:<QUEUE>`` for a queue nobody serves took 2 to 3.5 s instead of failing at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import sys
from leveret._cli import main
status = main(sys.argv[1:])
print("status", status, "jsonschema" in sys.modules)
"""


def _run(*argv: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-c", PROGRAM, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        # a broker that refuses at once: the command fails before any definition arrives
        env={"AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F", "PATH": ""},
    )
    return ran.stdout.strip().splitlines()[-1]


def test_a_queue_command_that_fails_before_a_definition_arrives_imports_no_jsonschema() -> None:
    assert _run("describe", "queue:nobody") == "status 1 False"
    assert _run("call", "queue:nobody", "m", "{}") == "status 1 False"
    assert _run("generate", "queue:nobody", "--out", "out") == "status 1 False"


def test_checking_a_definition_still_does() -> None:
    assert _run("describe", "schemas/inventory.yaml") == "status 0 True"
