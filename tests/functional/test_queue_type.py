"""``queue_type`` in a definition: generated into the service spec, used by workers."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import leveret
from leveret_codegen import generate_files
from tests.support.generated import generate_into

DEFINITION = """\
leveret: 1
package: {package}
service: Counter
{queue_type}
methods:
  bump:
    request: {{type: object, properties: {{n: {{type: integer}}}}, required: [n]}}
    response: {{type: object, properties: {{n: {{type: integer}}}}, required: [n]}}
"""


def _generate(tmp_path: Path, queue_type_line: str) -> tuple[Any, dict[str, str]]:
    package = f"counter_{uuid.uuid4().hex[:8]}"
    definition = tmp_path / "counter.yaml"
    definition.write_text(DEFINITION.format(package=package, queue_type=queue_type_line))
    out = tmp_path / "out"
    result = generate_into([definition], out)
    sys.path.insert(0, str(out))
    try:
        module = importlib.import_module(package)
    finally:
        sys.path.remove(str(out))
    spec_text = next(text for name, text in result.files.items() if name.endswith("_spec.py"))
    return module, {"_spec.py": spec_text}


def test_quorum_queue_type_reaches_the_service_spec_and_the_worker(tmp_path: Path) -> None:
    module, files = _generate(tmp_path, "queue_type: quorum")
    assert 'queue_type="quorum",' in files["_spec.py"]
    assert module.SERVICE.queue_type == "quorum"

    class Impl(module.CounterServicer):  # type: ignore[misc, name-defined]
        def bump(self, request: Any, context: leveret.CallContext) -> Any:
            return {"n": request.n + 1}

    url = f"memory://{uuid.uuid4().hex}"
    worker = leveret.Worker(Impl(), url=url)
    assert worker.queue_type == "quorum"
    with worker, module.CounterClient.connect(url) as client:
        assert client.bump(n=1).n == 2


@pytest.mark.parametrize("line", ["", "queue_type: classic"])
def test_classic_is_the_default_and_is_not_written_out(tmp_path: Path, line: str) -> None:
    module, files = _generate(tmp_path, line)
    # no queue_type= argument (the embedded definition document keeps what was written)
    assert "queue_type=" not in files["_spec.py"]
    assert module.SERVICE.queue_type == "classic"


def test_an_unknown_queue_type_is_a_diagnostic(tmp_path: Path) -> None:
    definition = tmp_path / "bad.yaml"
    definition.write_text(DEFINITION.format(package="bad_qt", queue_type="queue_type: stream"))
    result = generate_files([definition])
    assert not result.ok
    rendered = "\n".join(d.render() for d in result.diagnostics)
    assert "queue_type" in rendered, rendered
