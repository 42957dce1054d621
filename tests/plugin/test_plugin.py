"""The pytest plugin as users meet it: pytest runs (pytester) of small test files, on memory://
and, with ``--leveret-transport amqp``, on RabbitMQ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leveret._amqp._admin import queue_exists
from tests.conftest import AMQP_URL

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent

TRANSPORTS = [
    "memory",
    pytest.param("amqp", marks=pytest.mark.integration),
]

#: A user's test file: a service per test, a client kept past its test, a test that fails after
#: starting a service. Each test that starts one writes its url and queue to seen.jsonl.
USER_TESTS = """
import json
import pathlib

import pytest
from calculator import CalculatorClient, CalculatorServicer, Result

import leveret
from leveret._amqp._admin import queue_exists

kept = {}


class Calculator(CalculatorServicer):
    def add(self, request, context):
        return Result(value=request.a + request.b)

    def divide(self, request, context):
        return Result(value=request.a / request.b)

    def sum(self, request, context):
        return Result(value=sum(request.values))


def seen(svc):
    with pathlib.Path("seen.jsonl").open("a") as out:
        out.write(json.dumps([svc.url, svc.queue]) + "\\n")


def test_serves(leveret_service, leveret_transport, leveret_url):
    svc = leveret_service(Calculator())
    seen(svc)
    assert (svc.url, svc.transport) == (leveret_url, leveret_transport)
    if leveret_transport == "amqp":
        assert queue_exists(svc.url, svc.queue)
    with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
        assert client.add(a=1, b=2).value == 3
    kept["client"] = CalculatorClient.connect(svc.url, queue=svc.queue)


def test_worker_gone_after_teardown():
    client = kept.pop("client")
    try:
        with pytest.raises(leveret.Unavailable):
            client.add(a=1, b=1, timeout=0.5)
    finally:
        client.close()


def test_fails_after_starting(leveret_service):
    svc = leveret_service(Calculator())
    seen(svc)
    assert False, "fails on purpose"
"""


def _run(pytester: pytest.Pytester, transport: str, *args: str) -> pytest.RunResult:
    pytester.syspathinsert(HERE.parents[1] / "generated")
    return pytester.runpytest("-p", "no:cacheprovider", f"--leveret-transport={transport}", *args)


@pytest.fixture
def broker(transport: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """For the amqp runs: the broker must be there (skip, or fail under
    LEVERET_REQUIRE_BROKER=1), and the inner run uses the same one."""
    if transport == "amqp":
        monkeypatch.setenv("AMQP_URL", request.getfixturevalue("amqp_url"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_functional_tests_pass_on_each_transport(
    pytester: pytest.Pytester, transport: str, broker: None
) -> None:
    source = (HERE / "test_functional.py").read_text()
    pytester.makepyfile(test_functional=source)
    result = _run(pytester, transport)
    result.assert_outcomes(passed=source.count("\ndef test_"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_services_are_per_test_and_cleaned_up(
    pytester: pytest.Pytester, transport: str, broker: None
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = _run(pytester, transport)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: fails on purpose*"])
    seen = [json.loads(line) for line in (pytester.path / "seen.jsonl").read_text().splitlines()]
    assert len(seen) == 2
    (url1, queue1), (url2, queue2) = seen
    assert queue1 != queue2
    assert queue1.startswith("calculator.Calculator.test-")
    if transport == "memory":
        assert url1.startswith("memory://") and url1 != url2  # a broker per test
    else:
        assert url1 == url2 == AMQP_URL
        # Deleted at teardown, the failed test's one too.
        assert not queue_exists(url1, queue1)
        assert not queue_exists(url2, queue2)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), None, "memory"),
        ((), "amqp", "amqp"),
        (("--leveret-transport=memory",), "amqp", "memory"),
        (("--leveret-transport=amqp",), None, "amqp"),
    ],
)
def test_transport_from_option_then_environment(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: str | None,
    expected: str,
) -> None:
    if env is None:
        monkeypatch.delenv("LEVERET_TRANSPORT", raising=False)
    else:
        monkeypatch.setenv("LEVERET_TRANSPORT", env)
    monkeypatch.setenv("AMQP_URL", "amqp://guest:secret@broker.invalid:5672/%2F")
    pytester.makepyfile(
        f"""
        def test_transport(leveret_transport, leveret_url):
            assert leveret_transport == {expected!r}
            assert leveret_url.startswith({"memory://" if expected == "memory" else "amqp://"!r})
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    if expected == "amqp":  # said in the header, without the password
        result.stdout.fnmatch_lines(["leveret: transport amqp at amqp://guest:***@broker.invalid*"])
        assert "secret" not in result.stdout.str()
    else:
        assert "leveret:" not in result.stdout.str()


def test_bad_transport_in_environment_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEVERET_TRANSPORT", "rabbit")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*LEVERET_TRANSPORT='rabbit'*memory, amqp*"])


def test_bad_transport_option_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--leveret-transport=rabbit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid choice: 'rabbit'*"])


def test_plugin_is_installed_and_light(pytester: pytest.Pytester) -> None:
    """A fresh pytest process finds the plugin through its entry point and, in a project that
    does not use its fixtures, loads neither pika nor the generator nor the test helpers."""
    pytester.makeconftest(
        """
        import json
        import pathlib
        import sys

        def pytest_collection_finish(session):
            heavy = sorted(
                name for name in sys.modules
                if name.partition(".")[0] in ("pika", "leveret_codegen")
                or name in ("leveret.testing", "leveret._amqp")
            )
            plugin = session.config.pluginmanager.get_plugin("leveret")
            pathlib.Path("loaded.json").write_text(
                json.dumps({"heavy": heavy, "plugin": getattr(plugin, "__name__", None)})
            )
        """
    )
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    loaded = json.loads((pytester.path / "loaded.json").read_text())
    assert loaded == {"heavy": [], "plugin": "leveret.pytest_plugin"}


def test_bad_amqp_url_fails_the_tests_that_start_services_not_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMQP_URL", "http://broker.invalid/")
    pytester.makepyfile(
        """
        def test_plain():
            pass

        def test_service(leveret_service):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--leveret-transport=amqp")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["leveret: transport amqp, bad AMQP URL*", "*ConfigurationError: bad AMQP URL*"]
    )
