"""tests/conftest.py under LVSOCF_NO_SKIPS=1 (what `make test` sets): a skipped test fails,
unless it is marked kernel_dependent and says why with SITUATIONAL's words."""
from pathlib import Path

pytest_plugins = ["pytester"]
CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"


def test_only_marked_situational_skips_pass(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    kernel_dependent: may skip\n")
    pytester.makepyfile(test_skips="""
        import pytest

        def test_plain_skip():
            pytest.skip("tool missing")

        def test_unmarked_situational():
            pytest.skip("not on this kernel: but no marker")

        @pytest.mark.kernel_dependent
        def test_marked_situational():
            pytest.skip("not on this kernel: it has IPVS")

        @pytest.mark.kernel_dependent
        def test_marked_other_reason():
            pytest.skip("ip_vs is loadable here")
    """)
    monkeypatch.setenv("LVSOCF_NO_SKIPS", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(failed=3, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*not on this kernel: it has IPVS*"])


def test_without_the_variable_skips_stay_skips(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_skips="import pytest\n\ndef test_a():\n    pytest.skip('x')\n")
    monkeypatch.delenv("LVSOCF_NO_SKIPS", raising=False)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(skipped=1)
