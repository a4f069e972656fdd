"""Typed node-local state records: one frozen class per kind, with its JSON form.

The records live in the state directory (lvsocf.state: one root-only JSON file per resource
instance and kind). Writers build a record and call to_json(); readers call from_json(),
which takes whatever json.loads gave and returns a record or raises RecordError naming the
bad field. So an agent, the engine, `lvsocf status` and the tests read a record one way.

Kinds here: the service key every record carries, and `services` (IPVSService: the key of
the service it made and its fallback server).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from lvsocf import state
from lvsocf.ipvs.model import FAMILIES, PROTOCOLS, RealServer, ServiceKey


class RecordError(ValueError):
    """A record that cannot be used; str() names the field."""


def strict_int(value: Any, name: str) -> int:
    """An integer field (not a bool); RecordError naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{name}: expected an integer, got {value!r}")
    return value


def key_to_json(key: ServiceKey) -> dict[str, Any]:
    return {"protocol": key.protocol, "address": key.address, "port": key.port,
            "fwmark": key.fwmark, "family": key.family}


def key_from_json(raw: Any) -> ServiceKey:
    """A record's service key, canonical (it compares equal to the kernel's)."""
    if not isinstance(raw, Mapping):
        raise RecordError("service key: expected an object")
    fwmark = raw.get("fwmark") or 0
    family = raw.get("family") or "inet"
    if not isinstance(family, str) or family not in FAMILIES:
        raise RecordError(f"service key: unknown family {family!r}")
    if fwmark:
        return ServiceKey(fwmark=strict_int(fwmark, "fwmark"), family=family)
    protocol = raw.get("protocol") or "tcp"
    if not isinstance(protocol, str) or protocol not in PROTOCOLS:
        raise RecordError(f"service key: unknown protocol {protocol!r}")
    address = raw.get("address")
    if not isinstance(address, str):
        raise RecordError("service key: no address and no fwmark")
    try:
        return ServiceKey(protocol=protocol, address=address,
                          port=strict_int(raw.get("port", 0), "port"))
    except ValueError as exc:
        raise RecordError(f"service key: {exc}") from None


def _fallback_from_json(raw: Any) -> RealServer | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise RecordError("fallback: expected an object")
    address, method = raw.get("address"), raw.get("method") or "masq"
    if not isinstance(address, str) or not isinstance(method, str):
        raise RecordError("fallback: no address")
    try:
        return RealServer(address, strict_int(raw.get("port") or 0, "fallback port"), method,
                          weight=1)
    except ValueError as exc:
        raise RecordError(f"fallback: {exc}") from None


@dataclass(frozen=True)
class ServiceRecord:
    """What IPVSService made: its service's key (stop deletes exactly that, even after a
    parameter change) and its fallback server, which the engine puts in and takes out."""
    KIND: ClassVar[str] = "services"
    key: ServiceKey
    fallback: RealServer | None = None

    def to_json(self) -> dict[str, Any]:
        fb = self.fallback
        return {"key": key_to_json(self.key), "fallback": None if fb is None else {
            "address": fb.address, "port": fb.port, "method": fb.method}}

    @classmethod
    def from_json(cls, raw: Any) -> ServiceRecord:
        if not isinstance(raw, Mapping):
            raise RecordError("not a JSON object")
        return cls(key_from_json(raw.get("key")), _fallback_from_json(raw.get("fallback")))

    def write(self, instance: str) -> None:
        state.write(self.KIND, instance, self.to_json())

    @classmethod
    def read(cls, instance: str) -> ServiceRecord | None:
        """The instance's record; None if there is none or it is unusable."""
        raw = state.read(cls.KIND, instance)
        try:
            return None if raw is None else cls.from_json(raw)
        except RecordError:
            return None

    @classmethod
    def all(cls) -> dict[str, ServiceRecord]:
        """Every usable record, by instance (unusable ones are left out)."""
        out = {}
        for instance, raw in state.all_of(cls.KIND).items():
            try:
                out[instance] = cls.from_json(raw)
            except RecordError:
                continue
        return out
