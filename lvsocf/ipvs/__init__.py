"""The only code that talks to the kernel's IPVS: typed model (model.py), typed writes (op.py),
the pure wire format (protocol.py tables, codec.py framing, wire.py messages), the netlink
socket (netlink.py), /proc and sysctl readers, and reconcile. None of it imports pyroute2."""
