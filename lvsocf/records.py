"""Typed node-local state records: one frozen class per kind, with its JSON form.

The records live in the state directory (lvsocf.state: one root-only JSON file per resource
instance and kind). Writers build a record and call to_json(); readers call from_json(),
which takes whatever json.loads gave and returns a record or raises RecordError naming the
bad field. So an agent, the engine, `lvsocf status` and the tests read a record one way.

Kinds here: the service key every record carries; `services` (IPVSService: the key of the
service it made and its fallback server); `realservers` (IPVSRealServer: one real server, its
check, and once stop began its drain deadline); `health` (the engine: what it sees of one
real server).
"""
from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
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


class _Stored:
    """State-directory access shared by the record kinds (KIND, to_json, from_json)."""
    KIND: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, raw: Any) -> Any:
        raise NotImplementedError

    def write(self, instance: str) -> None:
        state.write(self.KIND, instance, self.to_json())

    @classmethod
    def read(cls, instance: str) -> Any:
        """The instance's record; None if there is none or it is unusable."""
        raw = state.read(cls.KIND, instance)
        try:
            return None if raw is None else cls.from_json(raw)
        except RecordError:
            return None

    @classmethod
    def all(cls) -> dict[str, Any]:
        """Every usable record, by instance (unusable ones are left out)."""
        out = {}
        for instance, raw in state.all_of(cls.KIND).items():
            try:
                out[instance] = cls.from_json(raw)
            except RecordError:
                continue
        return out


@dataclass(frozen=True)
class ServiceRecord(_Stored):
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


def _number(value: Any, name: str, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(f"{name}: expected a number, got {value!r}")
    return float(value)


def _positive(value: Any, name: str, default: float) -> float:
    number = _number(value, name, default)
    if number <= 0:
        raise RecordError(f"{name}: must be positive")
    return number


def _not_negative(value: Any, name: str) -> float:
    number = _number(value, name, 0.0)
    if number < 0:
        raise RecordError(f"{name}: must not be negative")
    return number


def _text(value: Any, name: str, default: str, choices: tuple[str, ...] = ()) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or (choices and value not in choices):
        raise RecordError(f"{name}: unexpected {value!r}")
    return value


def _service_of(raw: Any) -> ServiceKey:
    """The service key of a real-server or health record (a JSON object)."""
    if not isinstance(raw, Mapping):
        raise RecordError("not a JSON object")
    return key_from_json(raw.get("service"))


FAILURE_ACTIONS = ("quiescent", "remove")
METHODS = ("gate", "masq", "ipip")


OptionValue = str | bool | int | float


def _option(name: Any, value: Any) -> tuple[str, OptionValue]:
    """One check option as JSON holds it: a string, boolean or number, kept as it is (the
    check's options object types it: lvsocf.checks.spec; a string for a boolean or a number,
    as records before typed options held it, is converted there)."""
    if not isinstance(name, str) or not name:
        raise RecordError(f"check options: bad name {name!r}")
    if not isinstance(value, str | bool | int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise RecordError(f"check option {name}: expected a string, boolean or number, "
                          f"got {value!r}")
    return name, value


@dataclass(frozen=True)
class CheckSpec:
    """A real server's health check: its kind, options (name -> string, boolean or number,
    by name) and timing."""
    kind: str
    options: tuple[tuple[str, OptionValue], ...] = ()
    interval: float = 5.0
    timeout: float = 3.0
    rise: int = 2
    fall: int = 3

    @property
    def option_map(self) -> dict[str, OptionValue]:
        return dict(self.options)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "options": dict(self.options), "interval": self.interval,
                "timeout": self.timeout, "rise": self.rise, "fall": self.fall}

    @classmethod
    def from_json(cls, raw: Any) -> CheckSpec:
        if not isinstance(raw, Mapping):
            raise RecordError("check: expected an object")
        options = raw.get("options") or {}
        if not isinstance(options, Mapping):
            raise RecordError("check options: expected an object")
        counts = []
        for name, default in (("rise", 2), ("fall", 3)):
            count = strict_int(raw.get(name, default), name)
            if count <= 0:
                raise RecordError(f"{name}: must be positive")
            counts.append(count)
        kind = raw.get("kind")
        if not isinstance(kind, str) or not kind:
            raise RecordError("check kind: missing")
        return cls(kind,
                   tuple(sorted(_option(k, v) for k, v in options.items() if v is not None)),
                   _positive(raw.get("interval"), "interval", 5.0),
                   _positive(raw.get("timeout"), "timeout", 3.0), *counts)


@dataclass(frozen=True)
class RealServerRecord(_Stored):
    """What IPVSRealServer asks of the engine: one real server of one service (with its
    configured weight) and its check. `draining` is set by stop: the unix time by which the
    engine removes the entry (sooner once it has no active connection); until then it has
    weight 0. The engine removes a draining record once the entry is gone."""
    KIND: ClassVar[str] = "realservers"
    key: ServiceKey
    server: RealServer
    check: CheckSpec
    failure_action: str = "quiescent"
    initial_weight: int | None = None
    drain_timeout: float = 0.0
    draining: float | None = None
    slow_start: float = 0.0     # seconds to ramp the weight up after coming up; 0: off

    def to_json(self) -> dict[str, Any]:
        rs = self.server
        return {"service": key_to_json(self.key),
                "real_server": {"address": rs.address, "port": rs.port, "method": rs.method,
                                "weight": rs.weight, "u_threshold": rs.u_threshold,
                                "l_threshold": rs.l_threshold},
                "check": self.check.to_json(), "failure_action": self.failure_action,
                "initial_weight": self.initial_weight, "drain_timeout": self.drain_timeout,
                "draining": self.draining, "slow_start": self.slow_start}

    @classmethod
    def from_json(cls, raw: Any) -> RealServerRecord:
        key = _service_of(raw)
        rs = raw.get("real_server")
        if not isinstance(rs, Mapping) or not isinstance(rs.get("address"), str):
            raise RecordError("real_server: no address")
        try:
            server = RealServer(rs["address"], strict_int(rs.get("port") or 0, "port"),
                                _text(rs.get("method"), "method", "gate", METHODS),
                                strict_int(rs.get("weight", 1), "weight"),
                                strict_int(rs.get("u_threshold") or 0, "u_threshold"),
                                strict_int(rs.get("l_threshold") or 0, "l_threshold"))
        except ValueError as exc:
            raise RecordError(f"real_server: {exc}") from None
        initial, draining = raw.get("initial_weight"), raw.get("draining")
        return cls(key, server, CheckSpec.from_json(raw.get("check")),
                   _text(raw.get("failure_action"), "failure_action", "quiescent",
                         FAILURE_ACTIONS),
                   None if initial is None else strict_int(initial, "initial_weight"),
                   _number(raw.get("drain_timeout"), "drain_timeout", 0.0),
                   None if draining is None else _number(draining, "draining"),
                   _not_negative(raw.get("slow_start"), "slow_start"))


HEALTH_STATES = ("unknown", "up", "soft_down", "down", "soft_up")


def _opt(value: Any, kind: type | tuple[type, ...]) -> Any:
    """An optional field: the value if it has the type, else None (bools are no numbers)."""
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        return None
    return value if isinstance(value, kind) else None


@dataclass(frozen=True)
class HealthRecord(_Stored):
    """What the engine sees of one registration: its health state, the weight it found in
    the kernel (None: no entry), and `registration`, the digest of the record it runs (the
    agents' acknowledgement). Readers are tolerant: an optional field of the wrong type reads
    as None; only a record that cannot be placed (key, address, port, state) is refused."""
    KIND: ClassVar[str] = "health"
    key: ServiceKey
    address: str
    port: int
    state: str
    healthy: bool
    check: str | None = None
    since: float | None = None
    last_check: float | None = None
    latency: float | None = None
    detail: str | None = None
    weight: int | None = None
    configured_weight: int | None = None
    engine_pid: int | None = None
    registration: str | None = None
    failure_action: str | None = None
    error: str | None = field(default=None)
    consecutive_failures: int | None = None     # failed checks in a row, now
    flaps: int | None = None                    # hard state changes (resumed on restart)

    @property
    def down(self) -> bool:
        return self.state in ("down", "soft_up")

    def to_json(self) -> dict[str, Any]:
        return {"service": key_to_json(self.key), "address": self.address, "port": self.port,
                "check": self.check, "state": self.state, "healthy": self.healthy,
                "since": self.since, "last_check": self.last_check, "latency": self.latency,
                "detail": self.detail, "weight": self.weight,
                "configured_weight": self.configured_weight, "engine_pid": self.engine_pid,
                "registration": self.registration, "failure_action": self.failure_action,
                "error": self.error, "consecutive_failures": self.consecutive_failures,
                "flaps": self.flaps}

    @classmethod
    def from_json(cls, raw: Any) -> HealthRecord:
        key = _service_of(raw)
        address = raw.get("address")
        try:
            if not isinstance(address, str):
                raise ValueError
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise RecordError(f"address: not an IP address: {address!r}") from None
        state_ = raw.get("state")
        if state_ not in HEALTH_STATES:
            raise RecordError(f"state: expected one of {', '.join(HEALTH_STATES)}, "
                              f"got {state_!r}")
        check, healthy = raw.get("check"), raw.get("healthy")
        if isinstance(check, Mapping):
            check = check.get("kind")
        num = (int, float)
        return cls(key, address, strict_int(raw.get("port", 0), "port"), state_,
                   healthy if isinstance(healthy, bool) else state_ in ("up", "soft_down"),
                   _opt(check, str), _opt(raw.get("since"), num),
                   _opt(raw.get("last_check"), num), _opt(raw.get("latency"), num),
                   _opt(raw.get("detail"), str), _opt(raw.get("weight"), int),
                   _opt(raw.get("configured_weight"), int), _opt(raw.get("engine_pid"), int),
                   _opt(raw.get("registration"), str), _opt(raw.get("failure_action"), str),
                   _opt(raw.get("error"), str) or None,
                   _opt(raw.get("consecutive_failures"), int), _opt(raw.get("flaps"), int))


@dataclass(frozen=True)
class SyncRecord(_Stored):
    """IPVSSync's record of its node (kind `sync`): when the backup daemon started (the
    warm-up counts from there), whether this node is promoted and since when, and the
    warm-up the promotion score waits for."""
    KIND: ClassVar[str] = "sync"
    backup_since: float
    promoted: bool = False
    warmup: float = 0.0
    interface: str = ""
    syncid: int = 0
    promoted_since: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backup_since": self.backup_since, "promoted": self.promoted,
                               "warmup": self.warmup, "interface": self.interface,
                               "syncid": self.syncid}
        if self.promoted_since is not None:
            out["promoted_since"] = self.promoted_since
        return out

    @classmethod
    def from_json(cls, raw: Any) -> SyncRecord:
        if not isinstance(raw, Mapping):
            raise RecordError("not a JSON object")
        promoted = raw.get("promoted", False)
        if not isinstance(promoted, bool):
            raise RecordError(f"promoted: expected true or false, got {promoted!r}")
        since = raw.get("promoted_since")
        return cls(backup_since=_number(raw.get("backup_since"), "backup_since"),
                   promoted=promoted, warmup=_number(raw.get("warmup"), "warmup", 0.0),
                   interface=_text(raw.get("interface"), "interface", ""),
                   syncid=strict_int(raw.get("syncid", 0), "syncid"),
                   promoted_since=None if since is None else _number(since, "promoted_since"))
