"""Op: one typed IPVS write (kind, key, server, attributes), encoded once when it is made.

Build ops with the constructors (`Op.add_real_server(key, rs)`), run them with
`Ipvs.apply(ops)`, which returns one result per op in order; an error also names its op
(`IpvsError.op`). `op.payload` is the request's attribute bytes, computed once from the
typed fields (lvsocf.ipvs.wire), so what the kernel gets can never differ from what the op
says.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lvsocf.ipvs import protocol, wire
from lvsocf.ipvs.model import RealServer, Service, ServiceKey, SyncDaemon, Timeouts


class OpKind(enum.Enum):
    """What an op does; the value is its IPVS command number."""

    ADD_SERVICE = protocol.CMD_NEW_SERVICE
    EDIT_SERVICE = protocol.CMD_SET_SERVICE
    DELETE_SERVICE = protocol.CMD_DEL_SERVICE
    ADD_REAL_SERVER = protocol.CMD_NEW_DEST
    EDIT_REAL_SERVER = protocol.CMD_SET_DEST
    DELETE_REAL_SERVER = protocol.CMD_DEL_DEST
    START_DAEMON = protocol.CMD_NEW_DAEMON
    STOP_DAEMON = protocol.CMD_DEL_DAEMON
    SET_TIMEOUTS = protocol.CMD_SET_CONFIG
    ZERO = protocol.CMD_ZERO

    @property
    def is_real_server(self) -> bool:
        return self in (OpKind.ADD_REAL_SERVER, OpKind.EDIT_REAL_SERVER,
                        OpKind.DELETE_REAL_SERVER)


Attributes = Service | SyncDaemon | Timeouts | str | None


@dataclass(frozen=True)
class Op:
    """kind; key: the service (service, real-server and zero ops); server: the real server
    (real-server ops; a delete only uses its address and port); attributes: the Service,
    SyncDaemon, Timeouts or daemon state ("master"/"backup") the op writes."""

    kind: OpKind
    key: ServiceKey | None = None
    server: RealServer | None = None
    attributes: Attributes = None
    payload: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key, server, kind = _SHAPES[self.kind]
        if ((key is True and self.key is None) or (server and self.server is None)
                or (kind is not None and not isinstance(self.attributes, kind))):
            raise TypeError(f"{self.kind.name} needs {'a key, ' if key else ''}"
                            f"{'a server, ' if server else ''}attributes of type {kind}")
        object.__setattr__(self, "payload", _encode(self))

    @property
    def cmd(self) -> int:
        """The IPVS command number (protocol.CMD_*)."""
        return self.kind.value

    @property
    def what(self) -> str:
        """The op's subject, as error and log messages name it."""
        kind, a = self.kind, self.attributes
        if kind.is_real_server:
            return f"real server {self.server} of {self.key}"
        if isinstance(a, Service):
            pe = f", persistence engine {a.pe_name!r}" if a.pe_name else ""
            return f"service {a.key} (scheduler {a.scheduler!r}{pe})"
        if kind is OpKind.DELETE_SERVICE:
            return f"service {self.key}"
        if isinstance(a, SyncDaemon):
            return f"{a.state} sync daemon on {a.interface!r} (syncid {a.syncid})"
        if kind is OpKind.STOP_DAEMON:
            return f"{a} sync daemon"
        if kind is OpKind.ZERO:
            return f"zero counters of {self.key or 'all services'}"
        return "IPVS timeouts"

    def names(self, key: ServiceKey, server: RealServer) -> bool:
        """True when this op writes `server` of service `key` (compared by address/port)."""
        return (self.server is not None and self.key == key
                and self.server.ident == server.ident)

    # -- constructors
    @classmethod
    def add_service(cls, svc: Service) -> Op:
        return cls(OpKind.ADD_SERVICE, svc.key, attributes=svc)

    @classmethod
    def edit_service(cls, svc: Service) -> Op:
        return cls(OpKind.EDIT_SERVICE, svc.key, attributes=svc)

    @classmethod
    def delete_service(cls, key: ServiceKey) -> Op:
        return cls(OpKind.DELETE_SERVICE, key)

    @classmethod
    def add_real_server(cls, key: ServiceKey, rs: RealServer) -> Op:
        return cls(OpKind.ADD_REAL_SERVER, key, rs)

    @classmethod
    def edit_real_server(cls, key: ServiceKey, rs: RealServer) -> Op:
        return cls(OpKind.EDIT_REAL_SERVER, key, rs)

    @classmethod
    def delete_real_server(cls, key: ServiceKey, address: str, port: int) -> Op:
        return cls(OpKind.DELETE_REAL_SERVER, key, RealServer(address, port))

    @classmethod
    def start_daemon(cls, d: SyncDaemon) -> Op:
        return cls(OpKind.START_DAEMON, attributes=d)

    @classmethod
    def stop_daemon(cls, state: str) -> Op:
        return cls(OpKind.STOP_DAEMON, attributes=state)

    @classmethod
    def set_timeouts(cls, t: Timeouts) -> Op:
        return cls(OpKind.SET_TIMEOUTS, attributes=t)

    @classmethod
    def zero(cls, key: ServiceKey | None = None) -> Op:
        return cls(OpKind.ZERO, key)


# per kind: key needed (True) or optional (None), server needed, type of attributes
_SHAPES = {
    OpKind.ADD_SERVICE: (True, False, Service), OpKind.EDIT_SERVICE: (True, False, Service),
    OpKind.DELETE_SERVICE: (True, False, None), OpKind.ADD_REAL_SERVER: (True, True, None),
    OpKind.EDIT_REAL_SERVER: (True, True, None), OpKind.DELETE_REAL_SERVER: (True, True, None),
    OpKind.START_DAEMON: (None, False, SyncDaemon), OpKind.STOP_DAEMON: (None, False, str),
    OpKind.SET_TIMEOUTS: (None, False, Timeouts), OpKind.ZERO: (None, False, None),
}


def _encode(op: Op) -> bytes:
    kind, a = op.kind, op.attributes
    if kind in (OpKind.ADD_REAL_SERVER, OpKind.EDIT_REAL_SERVER):
        return wire.dest(op.key, op.server)
    if kind is OpKind.DELETE_REAL_SERVER:
        return wire.dest_ident(op.key, op.server.address, op.server.port)
    if kind in (OpKind.ADD_SERVICE, OpKind.EDIT_SERVICE):
        return wire.service(a)
    if kind in (OpKind.DELETE_SERVICE, OpKind.ZERO):
        return wire.service_key(op.key) if op.key is not None else b""
    if kind is OpKind.START_DAEMON:
        return wire.daemon(a)
    if kind is OpKind.STOP_DAEMON:
        return wire.daemon_state(a)
    return wire.timeouts(a)
