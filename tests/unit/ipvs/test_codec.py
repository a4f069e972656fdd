"""The pure wire format: encode/decode round trips, the precompiled bulk paths against the
generic codec, and our encoding against pyroute2's independent IPVS decoder."""
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvsocf.ipvs import codec, dest_dump, errors, protocol, wire
from lvsocf.ipvs.model import METHODS, RealServer, Service, ServiceKey, Stats, SyncDaemon
from lvsocf.ipvs.op import Op, OpKind
from lvsocf.ipvs.wire import netmask_from_wire, netmask_to_wire

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
ports = st.integers(0, 65535)
u32 = st.integers(0, 2**32 - 1)
servers = st.builds(RealServer, address=ipv4 | ipv6, port=ports,
                    method=st.sampled_from(sorted(METHODS)), weight=st.integers(0, 2**31 - 1),
                    u_threshold=u32, l_threshold=u32,
                    tun_type=st.sampled_from(["ipip", "gue", "gre"]), tun_port=ports,
                    tun_flags=st.integers(0, 65535))
keys = st.builds(ServiceKey, protocol=st.sampled_from(["tcp", "udp", "sctp"]),
                 address=ipv4 | ipv6, port=ports) | st.builds(
    ServiceKey, fwmark=st.integers(1, 2**32 - 1), family=st.sampled_from(["inet", "inet6"]))


FAMILY = 0x20          # the IPVS family id in these replies


def reply(cmd: int, payload: bytes, seq: int = 1) -> memoryview:
    return memoryview(codec.frame(FAMILY, codec.NLM_F_MULTI, seq, cmd, 1, payload))


def kernel_dest(rs: RealServer, stats: dict, tunnel: bool = True) -> bytes:
    """A dest as the kernel writes it in a dump (ip_vs_genl_fill_dest's order)."""
    items = {"addr": wire.addr_bytes(rs.address), "port": rs.port,
             "fwd_method": METHODS[rs.method], "weight": rs.weight}
    if tunnel:
        items.update(tun_type={"ipip": 0, "gue": 1, "gre": 2}[rs.tun_type],
                     tun_port=rs.tun_port, tun_flags=rs.tun_flags)
    items.update(u_thresh=rs.u_threshold, l_thresh=rs.l_threshold, active_conns=1,
                 inact_conns=2, persist_conns=3, addr_family=10 if ":" in rs.address else 2,
                 stats={**stats, **{n: v & 0xFFFFFFFF for n, v in stats.items()
                                    if n not in ("inbytes", "outbytes")}},
                 stats64=stats)
    return wire.attrs(dest=items)


@given(keys, servers)
def test_dest_request_is_the_generic_encoding(key, rs):
    items = {"addr": wire.addr_bytes(rs.address), "port": rs.port,
             "fwd_method": METHODS[rs.method], "weight": rs.weight,
             "u_thresh": rs.u_threshold, "l_thresh": rs.l_threshold,
             "addr_family": 10 if rs.family == "inet6" else 2}
    sent = rs
    if rs.method == "ipip" and rs.tun_type != "ipip":
        items.update(tun_type={"gue": 1, "gre": 2}[rs.tun_type], tun_port=rs.tun_port,
                     tun_flags=rs.tun_flags)
    else:       # tunnel settings go only with a non-ipip tunnel
        sent = rs._replace(tun_type="ipip", tun_port=0, tun_flags=0)
    op = Op.add_real_server(key, rs)
    assert op.payload == wire.service_key(key) + wire.attrs(dest=items)
    decoded = wire.decode(reply(op.cmd, op.payload))
    assert wire.service_from(decoded["service"]).service.key == key
    assert wire.dest_from(decoded["dest"], key.family).real_server == sent    # round trip


@given(servers, st.fixed_dictionaries({n: st.integers(0, 2**64 - 1)
                                       for n in Stats._fields}), st.booleans())
def test_bulk_dest_decoder_equals_the_generic_one(rs, stats, tunnel):
    message = reply(protocol.CMD_NEW_DEST, kernel_dest(rs, stats, tunnel))
    generic = wire.dest_from(wire.decode(message)["dest"], "inet")
    decoder = dest_dump.DestDecoder("inet", FAMILY)
    first, second = decoder(message), decoder(message)      # learns, then uses, the layout
    assert first == second == generic
    assert generic.real_server == (rs if tunnel else RealServer(
        rs.address, rs.port, rs.method, rs.weight, rs.u_threshold, rs.l_threshold))
    assert generic.stats == Stats(**stats) and generic.persistent_conns == 3


def test_a_datagram_of_dests_is_read_in_one_run_up_to_the_done_message():
    servers = [RealServer(f"10.0.1.{i}", 80 + i, "masq", i) for i in range(1, 41)] + [
        RealServer("2001:db8::5", 443, "ipip", 7, tun_type="gue", tun_port=6080)]
    counters = {n: 7 for n in Stats._fields}
    messages = [reply(protocol.CMD_NEW_DEST, kernel_dest(rs, counters), seq=9)
                for rs in servers]
    done = codec.NLMSG_HDR.pack(20, codec.NLMSG_DONE, codec.NLM_F_MULTI, 9, 0) + bytes(4)
    datagram = memoryview(b"".join(bytes(m) for m in messages) + done)
    for stats in (True, False):
        found: list = []
        offset = dest_dump.DestDecoder("inet", FAMILY, stats).run(datagram, found, 9)
        assert offset == len(datagram) - len(done)
        assert [f.real_server for f in found] == servers
        assert [f.stats for f in found] == [Stats(**counters) if stats else None] * 41
        assert {(f.active_conns, f.inactive_conns, f.persistent_conns) for f in found} == {
            (1, 2, 3)}


@given(st.lists(servers, min_size=1, max_size=40), st.booleans())
def test_a_run_of_any_real_servers_reads_as_the_generic_decoder_reads_each(table, stats):
    """Columns of one value and of many (ports, methods, tunnels, families) alike."""
    counters = {n: 5 for n in Stats._fields}
    messages = [reply(protocol.CMD_NEW_DEST, kernel_dest(rs, counters), seq=3) for rs in table]
    sizes = {len(m) for m in messages}
    datagram = memoryview(b"".join(bytes(m) for m in messages))
    found: list = []
    decoder = dest_dump.DestDecoder("inet", FAMILY, stats)
    offset = decoder.run(datagram, found, 3)
    run = len(found)
    assert offset == run * len(messages[0]) and (run == len(table) or len(sizes) > 1)
    generic = [wire.dest_from(wire.decode(m)["dest"], "inet") for m in messages[:run]]
    assert found == [g if stats else g._replace(stats=None) for g in generic]


def test_a_run_stops_at_a_reply_to_another_request_or_family():
    rs = RealServer("10.0.1.1", 80, "masq", 3)
    ours = bytes(reply(protocol.CMD_NEW_DEST, kernel_dest(rs, {}), seq=4))
    other_seq = bytes(reply(protocol.CMD_NEW_DEST, kernel_dest(rs, {}), seq=5))
    other_family = bytearray(ours)
    other_family[4:6] = struct.pack("=H", FAMILY + 1)
    for stranger in (other_seq, bytes(other_family)):
        found: list = []
        datagram = memoryview(ours + ours + stranger + ours)
        assert dest_dump.DestDecoder("inet", FAMILY).run(datagram, found, 4) == 2 * len(ours)
        assert len(found) == 2


def test_a_dest_layout_other_than_the_one_learnt_is_learnt_too():
    rs = RealServer("10.0.1.1", 80, "masq", 3)
    names = list(Stats._fields)
    first = bytes(reply(protocol.CMD_NEW_DEST, kernel_dest(rs, dict.fromkeys(names, 1))))
    reordered = bytes(reply(protocol.CMD_NEW_DEST,
                            kernel_dest(rs, dict.fromkeys(reversed(names), 2))))
    assert len(first) == len(reordered) and first != reordered
    for datagram in (first * 3, reordered * 3, first * 3):
        found: list = []
        assert dest_dump.DestDecoder("inet", FAMILY).run(memoryview(datagram), found, 1) == len(
            datagram)
        assert found == [dest_dump.DestDecoder("inet", FAMILY)(memoryview(datagram[:len(first)]))
                         ] * 3 != [None] * 3


@given(st.data())
def test_a_corrupted_dest_is_read_as_the_generic_decoder_reads_it_or_left_to_it(data):
    rs = RealServer("10.0.1.1", 80, "masq", 3)
    good = bytes(reply(protocol.CMD_NEW_DEST, kernel_dest(rs, {"conns": 5})))
    dest_dump.DestDecoder("inet", FAMILY).run(memoryview(good), [], 1)     # learnt
    at = data.draw(st.integers(0, len(good) - 1))
    bad = bytearray(good)
    bad[at] = data.draw(st.integers(0, 255).filter(lambda b: b != good[at]))
    found: list = []
    taken = dest_dump.DestDecoder("inet", FAMILY).run(memoryview(bytes(bad) + good), found, 1)
    assert taken in (0, len(good), 2 * len(good))
    if taken:
        generic = wire.dest_from(wire.decode(memoryview(bytes(bad)))["dest"], "inet")
        assert found[0] == generic


def test_a_datagram_that_starts_with_no_dest_is_left_to_the_generic_path():
    done = memoryview(codec.NLMSG_HDR.pack(20, codec.NLMSG_DONE, codec.NLM_F_MULTI, 1, 0)
                      + bytes(4))
    decoder, found = dest_dump.DestDecoder("inet", FAMILY), []
    assert decoder.run(done, found, 1) == 0 and decoder.run(done[:12], found, 1) == 0
    assert found == [] and decoder(done) is None


def test_bulk_dest_decoder_falls_back_on_another_layout():
    rs = RealServer("10.0.1.1", 80, "masq", 3)
    decoder = dest_dump.DestDecoder("inet", FAMILY)
    decoder(reply(protocol.CMD_NEW_DEST, kernel_dest(rs, {})))
    # same length, one attribute number changed (weight -> u_thresh): no silent misread
    data = bytearray(reply(protocol.CMD_NEW_DEST, kernel_dest(rs, {})))
    at = data.index(struct.pack("=HH", 8, 4))
    data[at + 2] = 5
    info = decoder(memoryview(bytes(data)))
    assert info.real_server.weight == 0 and info.real_server.u_threshold in (0, 3)


@given(st.builds(Service, key=keys, scheduler=st.sampled_from(["wlc", "rr", "sh", "mh"]),
                 persistent=st.integers(0, 2**31), pe_name=st.sampled_from(["", "sip"]),
                 one_packet=st.booleans()))
def test_service_round_trip(svc):
    op = Op.add_service(svc)
    back = wire.service_from(wire.decode(reply(op.cmd, op.payload))["service"]).service
    assert back.key == svc.key and back.same_settings(svc)


def test_a_service_read_without_counters_skips_them():
    svc = Service(ServiceKey("tcp", "10.0.0.1", 80), scheduler="wrr", persistent=30)
    items = wire.decode(reply(1, Op.add_service(svc).payload))["service"]
    counters = {n: i + 1 for i, n in enumerate(Stats._fields)}
    message = reply(1, codec.encode_attrs(wire.MESSAGE, {"service": {
        **items, "stats": {n: 0 for n in Stats._fields}, "stats64": counters}}))
    full = wire.service_from(wire.decode(message)["service"])
    lean = wire.service_from(wire.decode(message, wire.MESSAGE_WITHOUT_COUNTERS)["service"],
                             stats=False)
    assert full.stats == Stats(**counters) and lean.stats is None
    assert lean.service == full.service and full.service.same_settings(svc)


def test_service_flags_and_ipv6_netmask():
    svc = Service(ServiceKey("udp", "2001:db8::1", 53), scheduler="sh",
                  sched_flags=frozenset({"sh-port"}), persistent=60, netmask=64)
    decoded = wire.decode(reply(1, Op.add_service(svc).payload))["service"]
    assert decoded["sched_name"] == "sh" and decoded["port"] == 53 and decoded["timeout"] == 60
    assert decoded["flags"] == (svc.flag_bits, 0xFFFFFFFF)
    assert netmask_from_wire("inet6", decoded["netmask"]) == 64


def test_daemon_round_trip():
    d = SyncDaemon("backup", "eth0", syncid=3, maxlen=1400, mcast_group="ff02::8848",
                   mcast_port=9999, mcast_ttl=2)
    assert wire.daemon_from(wire.decode(reply(9, Op.start_daemon(d).payload))["daemon"]) == d


@given(st.integers(1, 128))
def test_ipv6_netmask_is_host_order_prefix(prefix):
    raw = netmask_to_wire("inet6", prefix).to_bytes(4, "big")
    assert int.from_bytes(raw, "little") == prefix
    assert netmask_from_wire("inet6", netmask_to_wire("inet6", prefix)) == prefix


def test_ipv4_netmask_is_address_bytes():
    assert netmask_to_wire("inet", "255.255.255.0").to_bytes(4, "big") == b"\xff\xff\xff\x00"
    assert netmask_from_wire("inet", 0xFFFF0000) == "255.255.0.0"


@given(st.binary(max_size=200))
def test_decoders_never_crash_on_garbage(data):
    message = memoryview(bytes(codec.REPLY_START) + data)
    framed = memoryview(codec.frame(FAMILY, codec.NLM_F_MULTI, 0, protocol.CMD_NEW_DEST, 1,
                                    data))
    for stats in (True, False):     # the bulk path leaves what it cannot read, never raises
        for datagram in (message, framed):
            dest_dump.DestDecoder("inet", FAMILY, stats).run(datagram, [], 0)
    for decode in (wire.decode, dest_dump.DestDecoder("inet", FAMILY)):
        try:
            decode(message)
        except Exception as exc:  # only malformed values are acceptable failures
            assert isinstance(exc, struct.error | UnicodeDecodeError | ValueError | KeyError)


def test_split_messages_and_errors():
    ack = codec.NLMSG_HDR.pack(36, codec.NLMSG_ERROR, 0, 9, 0) + struct.pack("=i", -2) + bytes(16)
    data = codec.frame(0x20, 5, 7, 1, 1, b"") + codec.frame(0x20, 5, 8, 2, 1, b"\4\0\1\0") + ack
    found = list(codec.split_messages(data))
    assert [(t, s) for t, _f, s, _m in found] == [(0x20, 7), (0x20, 8), (codec.NLMSG_ERROR, 9)]
    assert codec.error_code(found[2][3]) == 2


@pytest.mark.parametrize("cut", [17, 30])
def test_a_truncated_message_is_an_ipvs_error(cut):
    """A datagram that ends inside a message (or a length below a header) is the kernel's
    answer going wrong: an IpvsError, never a struct.error out of a decoder."""
    data = codec.frame(0x20, 5, 7, 1, 1, b"\4\0\1\0" * 4)[:cut]
    with pytest.raises(errors.IpvsError, match="truncated"):
        list(codec.split_messages(data))
    with pytest.raises(errors.IpvsError, match="truncated"):
        list(codec.split_messages(codec.NLMSG_HDR.pack(8, 2, 0, 1, 0)))


def test_sequence_numbers_wrap_below_2_32():
    """Ipvs reserves consecutive u32 sequence numbers for a batch; a batch that would cross
    2**32 starts at 1 again (packing a larger one raises struct.error)."""
    from lvsocf.ipvs.netlink import Ipvs
    door = object.__new__(Ipvs)
    door._seq = 0xFFFFFFFF - 10
    assert door._next_seqs(10) == 0xFFFFFFFF - 9 and door._seq == 0xFFFFFFFF
    assert door._next_seqs(256) == 1 and door._seq == 256
    codec.frame(0x20, 5, door._seq, 1, 1, b"")


def test_op_is_typed_and_encoded_once():
    key, rs = ServiceKey("tcp", "10.0.0.1", 80), RealServer("10.0.1.1", 80, "masq", 2)
    op = Op.add_real_server(key, rs)
    assert (op.kind, op.key, op.server, op.cmd) == (OpKind.ADD_REAL_SERVER, key, rs,
                                                    protocol.CMD_NEW_DEST)
    assert op == Op(OpKind.ADD_REAL_SERVER, key, rs) and op.payload is op.payload
    assert op.names(key, RealServer("10.0.1.1", 80, weight=9))
    assert not op.names(ServiceKey("tcp", "10.0.0.2", 80), rs)
    with pytest.raises(TypeError):
        Op(OpKind.ADD_REAL_SERVER, key)
    with pytest.raises(TypeError):
        Op(OpKind.ADD_SERVICE, key)
    delete = Op.delete_real_server(key, "10.0.1.1", 80)
    assert delete.names(key, rs) and delete.what == "real server 10.0.1.1:80 of tcp 10.0.0.1:80"


def test_pyroute2_decodes_our_requests():
    """An independent implementation of the protocol reads what we send."""
    from pyroute2.netlink.generic.ipvs import ipvsmsg
    key = ServiceKey("tcp", "10.0.0.1", 8080)
    op = Op.add_real_server(key, RealServer("10.0.1.1", 8081, "masq", 7, 100, 50))
    msg = ipvsmsg(codec.frame(0x20, 0, 1, op.cmd, 1, op.payload))
    msg.decode()
    dest, svc = msg.get_attr("IPVS_CMD_ATTR_DEST"), msg.get_attr("IPVS_CMD_ATTR_SERVICE")
    assert (dest.get_attr("IPVS_DEST_ATTR_PORT"), dest.get_attr("IPVS_DEST_ATTR_WEIGHT"),
            dest.get_attr("IPVS_DEST_ATTR_U_THRESH")) == (8081, 7, 100)
    assert svc.get_attr("IPVS_SVC_ATTR_PORT") == 8080


@given(st.text(alphabet="0123456789.:abcdefABCDEF x", max_size=20) | ipv4 | ipv6)
def test_canonical_address_is_ipaddress(text):
    import ipaddress

    from lvsocf.ipvs.model import canonical_address
    try:
        expected = str(ipaddress.ip_address(text))
    except ValueError:
        expected = ValueError
    try:
        got = canonical_address(text)
    except ValueError:
        got = ValueError
    assert got == expected
