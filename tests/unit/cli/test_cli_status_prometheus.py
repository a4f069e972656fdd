"""`lvsocf status --format prometheus`: the metrics of the records, without the kernel."""
from __future__ import annotations

import io
import time

from prometheus_client.parser import text_string_to_metric_families

from lvsocf import state
from lvsocf.cli import status
from lvsocf.ipvs.model import ServiceKey
from lvsocf.records import HealthRecord


def test_prints_the_records_as_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("LVSOCF_STATE_DIR", str(tmp_path))
    HealthRecord(ServiceKey("tcp", "10.0.0.1", 80), "192.168.1.2", 80, "down", False,
                 weight=0, configured_weight=4, flaps=1, consecutive_failures=3,
                 latency=1.5).write('rs "one"')
    state.write("engine", "status", {"pid": 1, "at": time.time(), "checks": 9})
    out = io.StringIO()
    assert status.run(["--format", "prometheus"], out) == 0
    samples = {(s.name, s.labels.get("state")): (s.labels, s.value)
               for f in text_string_to_metric_families(out.getvalue()) for s in f.samples}
    labels, value = samples[("lvsocf_real_server_consecutive_failures", None)]
    assert value == 3 and labels == {"service": "tcp:10.0.0.1:80",
                                     "real_server": "192.168.1.2:80", "resource": "rs__one_"}
    assert samples[("lvsocf_real_server_state", "down")][1] == 1
    assert samples[("lvsocf_engine_checks_total", None)][1] == 9


def test_format_json_is_json_and_conflicts_are_usage_errors(tmp_path, monkeypatch, capsys):
    assert status.run(["--format", "prometheus", "--json"], io.StringIO()) == 2
    assert status.run(["--format", "yaml"], io.StringIO()) == 2
    assert status.build_parser().parse_args(["--format", "json"]).format == "json"
