"""bench/checks' ratio lines: variants that do less work per check than the peers say so."""
from bench import checks


def result(tool: str) -> checks.Result:
    return checks.Result(tool, 200, 10.0, 2000, 1.0, 0.2, [1.0] * 100, 200)


def test_ratios_of_unequal_variants_carry_a_caveat(capsys):
    checks.report([result(t) for t in ("lvsocf", "lvsocf-half", "lvsocf-reuse",
                                       "keepalived")])
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()
             if line.startswith("N=")}
    assert "NOT LIKE FOR LIKE" not in lines["lvsocf/keepalived"]
    assert "NOT LIKE FOR LIKE: tcp-half-open" in lines["lvsocf-half/keepalived"]
    assert "kept-alive" in lines["lvsocf-reuse/keepalived"]
