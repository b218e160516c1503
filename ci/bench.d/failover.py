#!/usr/bin/env python3
"""Failover times on the wire, from a capture on the LAN bridge (ci/bench failover).

    failover.py PCAP TRIALS.tsv SAMPLES.tsv  > failover tables (markdown)

PCAP is tcpdump's capture on the bridge (kernel timestamps, micro- or nanosecond pcap).
TRIALS.tsv has one line per trial, written by ci/bench.d/failover:
    daemon  failure  interval_ms  trial  t_start  t_fail  t_end  status
with times as CLOCK_REALTIME seconds (the clock pcap timestamps use). Each trial is judged
only on frames between its t_start and t_end:
    last master advert  the master's (198.51.100.1) last advert before the backup's first
    backup advert       the backup's (198.51.100.2) first advert after t_fail
    first GARP          the first ARP from the backup's MAC announcing the VIP after t_fail
SAMPLES.tsv gets one line per trial with both delays (ms), for a look at distributions.
Standard library only: a fresh Debian has python3 and nothing more.
"""

import math
import statistics
import struct
import sys

MASTER_IP = "198.51.100.1"
BACKUP_IP = "198.51.100.2"
BACKUP_MAC = "02:00:00:00:00:02"
VIP = "198.51.100.100"
VRID = 51
BACKUP_PRIORITY = 100
# A cell whose median is this far above the RFC figure gets its samples printed.
ODD_MS = 10.0


def ip4(b):
    return ".".join(str(x) for x in b)


def mac(b):
    return ":".join(f"{x:02x}" for x in b)


def read_pcap(path):
    """Yields (timestamp_ns, frame) for each record of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        sys.exit(f"{path}: not a pcap file (too short)")
    magics = {
        0xA1B2C3D4: ("<", 1000),
        0xA1B23C4D: ("<", 1),
        0xD4C3B2A1: (">", 1000),
        0x4D3CB2A1: (">", 1),
    }
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in magics:
        sys.exit(f"{path}: not a pcap file (magic {magic:#x})")
    endian, frac_ns = magics[magic]
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit(f"{path}: link type {linktype}, expected Ethernet (1)")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off : off + 16])
        off += 16
        yield sec * 1_000_000_000 + frac * frac_ns, data[off : off + incl]
        off += incl


def events(path):
    """The capture as a time-ordered list of ('advert', ts, src_ip, priority) and
    ('garp', ts, sender_mac, sender_ip)."""
    out = []
    for ts, fr in read_pcap(path):
        if len(fr) < 14:
            continue
        ethertype = struct.unpack("!H", fr[12:14])[0]
        if ethertype == 0x0800 and len(fr) >= 34:
            ihl = (fr[14] & 0x0F) * 4
            if fr[23] != 112 or len(fr) < 14 + ihl + 4:
                continue
            vrrp = fr[14 + ihl :]
            if vrrp[0] & 0x0F == 1 and vrrp[1] == VRID:
                out.append(("advert", ts, ip4(fr[26:30]), vrrp[2]))
        elif ethertype == 0x0806 and len(fr) >= 42:
            sender_ip = ip4(fr[28:32])
            # Gratuitous: sender and target protocol address are both the VIP.
            if sender_ip == VIP and ip4(fr[38:42]) == VIP:
                out.append(("garp", ts, mac(fr[22:28]), sender_ip))
    out.sort(key=lambda e: e[1])
    return out


def to_ns(text):
    """'1795608585.003711' (bash's EPOCHREALTIME) as integer nanoseconds, exactly."""
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


def judge(evs, t_start, t_fail, t_end):
    """Delays (ms) of one trial (or None), the master's advert periods (ms), and the
    notes worth reporting."""
    notes = []
    win = [e for e in evs if t_start <= e[1] <= t_end]
    master = [e[1] for e in win if e[0] == "advert" and e[2] == MASTER_IP and e[3] > 0]
    backup = [e for e in win if e[0] == "advert" and e[2] == BACKUP_IP and e[1] > t_fail]
    garps = [e[1] for e in win if e[0] == "garp" and e[2] == BACKUP_MAC and e[1] > t_fail]
    if any(e[0] == "advert" and e[2] == MASTER_IP and e[3] == 0 for e in win):
        notes.append("the master sent a priority-0 advert (it was not killed hard)")
    if not backup:
        notes.append("no advert from the backup after the failure")
        return None, None, [], notes
    first_backup = backup[0][1]
    if backup[0][3] != BACKUP_PRIORITY:
        notes.append(f"the backup's first advert has priority {backup[0][3]}")
    before = [t for t in master if t < first_backup]
    if len(before) < 2:
        notes.append("the master sent fewer than two adverts before the failure")
        return None, None, [], notes
    last_master = before[-1]
    if any(t > first_backup for t in master):
        notes.append("the master still sent adverts after the backup took over")
    if last_master < t_fail - 2_000_000_000:
        notes.append("the master's last advert is long before the failure")
    adv_ms = (first_backup - last_master) / 1e6
    garp_ms = (garps[0] - last_master) / 1e6 if garps else None
    if garp_ms is None:
        notes.append("no gratuitous ARP from the backup")
    periods = [(b - a) / 1e6 for a, b in zip(before, before[1:])]
    return adv_ms, garp_ms, periods, notes


def pct(xs, p):
    """Nearest-rank percentile: the smallest sample with at least p% of samples at or below."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def rfc_ms(interval_ms):
    # RFC 9568: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time,
    # Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
    return 3 * interval_ms + (256 - BACKUP_PRIORITY) * interval_ms / 256


def fmt(x):
    return "—" if x is None else f"{x:.1f}"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: failover.py PCAP TRIALS.tsv SAMPLES.tsv")
    pcap, trials_path, samples_path = sys.argv[1:]
    evs = events(pcap)
    cells = {}  # (failure, interval_ms) -> daemon -> {"adv": [...], "garp": [...], "lost": n}
    order = []
    problems = []
    period = {}  # (daemon, interval_ms) -> the master's advert periods (ms)
    with open(trials_path) as f, open(samples_path, "w") as out:
        out.write("daemon\tfailure\tinterval_ms\ttrial\tbackup_advert_ms\tgarp_ms\tnotes\n")
        for line in f:
            if not line.strip() or line.startswith("daemon\t"):
                continue
            daemon, failure, interval, trial, t_start, t_fail, t_end, status = line.split("\t")
            key = (failure, int(interval))
            if key not in cells:
                cells[key] = {}
                order.append(key)
            c = cells[key].setdefault(daemon, {"adv": [], "garp": [], "lost": 0})
            adv, garp, periods, notes = judge(evs, to_ns(t_start), to_ns(t_fail), to_ns(t_end))
            period.setdefault((daemon, int(interval)), []).extend(periods)
            if status.strip() != "ok":
                notes.append(f"script: {status.strip()}")
            if adv is None:
                c["lost"] += 1
            else:
                c["adv"].append(adv)
            if garp is not None:
                c["garp"].append(garp)
            for n in notes:
                problems.append(f"{daemon}, {failure}, {interval} ms, trial {trial}: {n}")
            out.write(f"{daemon}\t{failure}\t{interval}\t{trial}\t{fmt(adv)}\t{fmt(garp)}\t{'; '.join(notes)}\n")

    label = {"kill": "master SIGKILLed", "link": "master link down"}
    daemons = ["keeplite", "keepalived"]
    print("| failure | advert_int | RFC figure | daemon | n | backup advert: median | p95 | min | max "
          "| median − RFC | first GARP: median | p95 | min | max |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    odd = []
    for key in order:
        failure, interval = key
        rfc = rfc_ms(interval)
        for d in daemons:
            c = cells[key].get(d)
            if not c or not c["adv"]:
                continue
            a, g = c["adv"], c["garp"]
            med = statistics.median(a)
            gstats = [statistics.median(g), pct(g, 95), min(g), max(g)] if g else [None] * 4
            n = f"{len(a)}" + (f" ({c['lost']} lost)" if c["lost"] else "")
            print(f"| {label.get(failure, failure)} | {interval} ms | {rfc:.1f} ms | {d} | {n} "
                  f"| {fmt(med)} | {fmt(pct(a, 95))} | {fmt(min(a))} | {fmt(max(a))} | {med - rfc:+.1f} "
                  f"| {' | '.join(fmt(x) for x in gstats)} |")
            if med - rfc > ODD_MS:
                odd.append((key, d, sorted(a)))
    print()
    print("Ratio of medians, keeplite / keepalived (below 1: keeplite is faster):")
    print()
    print("| failure | advert_int | backup advert | first GARP |")
    print("|---|---:|---:|---:|")
    for key in order:
        failure, interval = key
        k, v = cells[key].get("keeplite"), cells[key].get("keepalived")
        if not (k and v and k["adv"] and v["adv"]):
            continue
        ra = statistics.median(k["adv"]) / statistics.median(v["adv"])
        rg = (statistics.median(k["garp"]) / statistics.median(v["garp"])
              if k["garp"] and v["garp"] else None)
        print(f"| {label.get(failure, failure)} | {interval} ms | {ra:.4f} | "
              f"{'—' if rg is None else f'{rg:.4f}'} |")
    print()
    print("Sanity check, the master's advert period (every gap between its consecutive adverts "
          "before a failure, ms):")
    print()
    print("| daemon | advert_int | gaps | median | min | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for (d, interval), p in sorted(period.items(), key=lambda kv: (kv[0][1], daemons.index(kv[0][0]))):
        if p:
            print(f"| {d} | {interval} ms | {len(p)} | {statistics.median(p):.2f} | {min(p):.2f} | {max(p):.2f} |")
    if odd:
        print()
        print(f"Cells with a median more than {ODD_MS:.0f} ms above the RFC figure "
              "(every sample, ms, sorted):")
        print()
        for (failure, interval), d, s in odd:
            print(f"- {d}, {label.get(failure, failure)}, {interval} ms: " + ", ".join(f"{x:.1f}" for x in s))
    if problems:
        print()
        print("Trials with something to say:")
        print()
        for p in problems:
            print(f"- {p}")


if __name__ == "__main__":
    main()
