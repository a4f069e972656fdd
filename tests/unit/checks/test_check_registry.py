"""build_checker: the registry, option validation and the Checker protocol."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from lvsocf.checks import CHECK_KINDS, CheckConfigError, Checker, CheckResult, Target, build_checker

T = Target("127.0.0.1", 80)
NEEDS = {"external": {"external_command": "true"}}


def test_kinds():
    assert CHECK_KINDS == ("none", "ping", "tcp", "tcp-half-open", "http", "https", "udp", "dns",
                           "external")


@pytest.mark.parametrize("kind", CHECK_KINDS)
def test_every_kind_builds_and_follows_the_protocol(kind):
    checker = build_checker(kind, T, NEEDS.get(kind, {}))
    assert isinstance(checker, Checker)
    assert checker.kind == kind
    assert asyncio.iscoroutinefunction(checker.check)
    assert callable(checker.starter) and checker.release() is None


def test_unknown_kind():
    with pytest.raises(CheckConfigError, match="check_type"):
        build_checker("smtp", T, {})


def test_unrelated_and_empty_options_are_ignored():
    options = {"check_interval": "5", "weight": "3", "request": "", "udp_payload": "",
               "status_codes": "", "tls_verify": ""}
    for kind in CHECK_KINDS:
        build_checker(kind, T, {**options, **NEEDS.get(kind, {})})


@pytest.mark.parametrize("kind,target,options,option", [
    ("tcp", Target("127.0.0.1", None), {}, "check_port"),
    ("udp", Target("127.0.0.1", 0), {}, "check_port"),
    ("tcp", Target("127.0.0.1", 70000), {}, "check_port"),
    ("tcp", Target("www.example.test", 80), {}, "check_address"),
    ("ping", Target("300.1.1.1", None), {}, "check_address"),
    ("http", T, {"http_method": "POST"}, "http_method"),
    ("http", T, {"request": "/a b"}, "request"),
    ("http", T, {"request": "/a\r\nX-Injected: 1"}, "request"),
    ("http", T, {"virtualhost": "evil\r\nX: y"}, "virtualhost"),
    ("http", T, {"status_codes": "2xx"}, "status_codes"),
    ("http", T, {"status_codes": "299-200"}, "status_codes"),
    ("http", T, {"status_codes": "200,700"}, "status_codes"),
    ("http", T, {"receive": "("}, "receive"),
    ("https", T, {"tls_verify": "maybe"}, "tls_verify"),
    ("https", T, {"ca_file": "/nonexistent/ca.pem"}, "ca_file"),
    ("udp", T, {"udp_payload": "xyz"}, "udp_payload"),
    ("udp", T, {"udp_expect": "abc"}, "udp_expect"),
    ("dns", T, {"dns_type": "SRV"}, "dns_type"),
    ("dns", T, {"dns_query": "a" * 64 + ".test"}, "dns_query"),
    ("dns", T, {"dns_query": "a..b"}, "dns_query"),
    ("dns", T, {"receive": "[z-a]"}, "receive"),
    ("external", T, {}, "external_command"),
    ("external", T, {"external_command": "check 'unterminated"}, "external_command"),
])
def test_bad_options_name_the_option(kind, target, options, option):
    with pytest.raises(CheckConfigError) as info:
        build_checker(kind, target, options)
    assert str(info.value).startswith(option + ":")
    assert isinstance(info.value, ValueError)


def test_defaults_ports_and_boolean_spellings():
    assert build_checker("http", Target("127.0.0.1", None), {}).port == 80
    assert build_checker("https", Target("127.0.0.1", None), {}).port == 443
    assert build_checker("dns", Target("::1", None), {}).port == 53
    for word, value in (("yes", True), ("TRUE", True), ("off", False), ("0", False)):
        assert build_checker("https", T, {"tls_verify": word}).verify is value


def test_https_without_verification_ignores_missing_ca_file():
    build_checker("https", T, {"tls_verify": "false", "ca_file": "/nonexistent"})


def test_check_never_raises_on_unusable_environment():
    result = asyncio.run(build_checker("none", T, {}).check(1))
    assert result == CheckResult(True, 0.0, "no check")


def test_importing_the_package_is_cheap():
    code = ("import sys, lvsocf.checks, lvsocf.checks.state; "
            "heavy = {'ssl', 'asyncio', 'requests', 'pyroute2', 'lvsocf.checks.http'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_guarded_outcomes():
    import errno

    from lvsocf.checks.base import CheckFailed, guarded

    async def kernel_timeout():
        raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")

    async def failed():
        raise CheckFailed("status 500")

    async def broken():
        raise RuntimeError("boom\nsecond line")

    async def slow():
        await asyncio.sleep(5)
        return "late"

    async def main():
        return (await guarded(kernel_timeout, 1, timeout_ok=True), await guarded(failed, 1),
                await guarded(broken, 1), await guarded(slow, 0.05),
                await guarded(slow, 0.05, timeout_ok=True))
    kt, f, b, s, s_ok = asyncio.run(main())
    assert not kt.ok and kt.detail == "Connection timed out"   # not mistaken for our deadline
    assert not f.ok and f.detail == "status 500"
    assert not b.ok and b.detail == "RuntimeError: boom"
    assert not s.ok and s.detail == "timed out after 0.05s" and s.latency >= 0.05
    assert s_ok.ok


def test_cancellation_propagates():
    async def main():
        checker = build_checker("external", T, {"external_command": "sleep 5"})
        task = asyncio.ensure_future(checker.check(10))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(main())
