"""The runtime dependencies the packages declare are the ones the product imports: lxml, no
more (lvsocf.ipvs speaks netlink itself; pyroute2 is a test dependency only). `requests` in
particular is not used (README: the HTTP(S) checks have their own asyncio client)."""
import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "lvsocf"
NOT_PRODUCT = {"lab"}          # the lab VM and scenario, used by tests and `make demo`


def third_party_imports() -> set[str]:
    found = set()
    for path in PRODUCT.rglob("*.py"):
        if NOT_PRODUCT & set(path.relative_to(PRODUCT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_declared_dependencies_are_the_imported_ones():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in declared}
    imported = third_party_imports()
    assert names == {"lxml"}
    assert names <= imported
    assert "requests" not in imported and "pyroute2" not in imported
