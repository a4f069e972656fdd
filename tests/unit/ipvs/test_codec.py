"""The struct codec against pyroute2's own marshalling of the same protocol tables."""
from hypothesis import given
from hypothesis import strategies as st

from lvsocf.ipvs import codec, protocol
from lvsocf.ipvs.model import RealServer, Service, ServiceKey
from lvsocf.ipvs.netlink import netmask_from_wire, netmask_to_wire, ops

SCHEMA = codec.schema(protocol.IpvsMessage)


def pyroute2_decode(attrs: bytes) -> protocol.IpvsMessage:
    msg = protocol.IpvsMessage(codec.frame(0x20, 0, 1, 5, 1, attrs))
    msg.decode()
    return msg


@given(port=st.integers(1, 65535), weight=st.integers(0, 65535), thresh=st.integers(0, 2**31),
       method=st.sampled_from(["gate", "masq", "ipip"]))
def test_dest_encoding_matches_pyroute2_decoder(port, weight, thresh, method):
    key = ServiceKey("tcp", "10.0.0.1", port)
    op = ops.add_real_server(key, RealServer("10.0.1.1", port, method, weight, thresh))
    msg = pyroute2_decode(op.attrs)
    dest = msg.get_attr("IPVS_CMD_ATTR_DEST")
    assert dest.get_attr("IPVS_DEST_ATTR_PORT") == port
    assert dest.get_attr("IPVS_DEST_ATTR_WEIGHT") == weight
    assert dest.get_attr("IPVS_DEST_ATTR_U_THRESH") == thresh
    assert msg.get_attr("IPVS_CMD_ATTR_SERVICE").get_attr("IPVS_SVC_ATTR_PORT") == port


def test_round_trip_service():
    svc = Service(ServiceKey("udp", "2001:db8::1", 53), scheduler="sh",
                  sched_flags=frozenset({"sh-port"}), persistent=60, netmask=64)
    decoded = codec.decode_attrs(SCHEMA, ops.add_service(svc).attrs)["service"]
    assert decoded["sched_name"] == "sh" and decoded["port"] == 53 and decoded["timeout"] == 60
    assert decoded["flags"] == (svc.flag_bits, 0xFFFFFFFF)
    assert netmask_from_wire("inet6", decoded["netmask"]) == 64


@given(st.integers(1, 128))
def test_ipv6_netmask_is_host_order_prefix(prefix):
    raw = netmask_to_wire("inet6", prefix).to_bytes(4, "big")
    assert int.from_bytes(raw, "little") == prefix
    assert netmask_from_wire("inet6", netmask_to_wire("inet6", prefix)) == prefix


def test_ipv4_netmask_is_address_bytes():
    assert netmask_to_wire("inet", "255.255.255.0").to_bytes(4, "big") == b"\xff\xff\xff\x00"
    assert netmask_from_wire("inet", 0xFFFF0000) == "255.255.0.0"


@given(st.binary(max_size=200))
def test_decoder_never_crashes_on_garbage(data):
    try:
        codec.decode_attrs(SCHEMA, data)
    except Exception as exc:  # only struct underflow on truncated payloads is acceptable
        import struct
        assert isinstance(exc, struct.error | UnicodeDecodeError | ValueError)


def test_split_messages_and_frame():
    data = codec.frame(0x20, 5, 7, 1, 1, b"") + codec.frame(0x20, 5, 8, 2, 1, b"\x04\x00\x01\x00")
    assert [(t, s) for t, _f, s, _p in codec.split_messages(data)] == [(0x20, 7), (0x20, 8)]
