//! Policy routing rules over rtnetlink: add, delete, and dump one family's rules.
//!
//! Built and decoded by hand like [`super::route`]: `struct fib_rule_hdr` and the `FRA_*`
//! attributes keeplite uses; anything that does not add up is unreadable, never a panic.

use super::error::Cause;
use super::link::{if_name, IfName};
use super::netlink::{Raw, Socket};
use super::route::{attr, ip_bytes, ip_of, u32_of, AF_INET, AF_INET6};
use netlink_packet_core::{NlasIterator, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL};
use std::net::IpAddr;

/// `RTM_NEWRULE`: a rule (dump entry or notification).
pub const RTM_NEWRULE: u16 = 32;
/// `RTM_DELRULE`: a rule was removed.
pub const RTM_DELRULE: u16 = 33;
const RTM_GETRULE: u16 = 34;

const HDR_LEN: usize = 12;
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_PROTOCOL: u16 = 21;
/// `FR_ACT_TO_TBL`: look the packet up in `table`.
pub const TO_TABLE: u8 = 1;
/// `RT_TABLE_COMPAT`: the header's table when the real one is above 255.
const TABLE_COMPAT: u8 = 252;

/// One rule, as keeplite asks for it or as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub v6: bool,
    /// `from`: source prefix.
    pub src: Option<(IpAddr, u8)>,
    /// `to`: destination prefix.
    pub dst: Option<(IpAddr, u8)>,
    pub iif: Option<IfName>,
    pub oif: Option<IfName>,
    /// Mark and mask (the kernel's mask is all ones when only a mark is given).
    pub fwmark: Option<(u32, u32)>,
    pub table: u32,
    /// `None`: not given (the kernel picks one), or the kernel's 0.
    pub priority: Option<u32>,
    /// `FR_ACT_*`.
    pub action: u8,
    pub protocol: u8,
    pub tos: u8,
    /// `FIB_RULE_*` flags (invert, ...).
    pub flags: u32,
}

impl Rule {
    /// The message body: `struct fib_rule_hdr` and its attributes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        let len = |p: Option<(IpAddr, u8)>| p.map_or(0, |(_, l)| l);
        let table = u8::try_from(self.table).unwrap_or(TABLE_COMPAT);
        let family = if self.v6 { AF_INET6 } else { AF_INET };
        out.extend_from_slice(&[family, len(self.dst), len(self.src), self.tos, table, 0, 0, self.action]);
        out.extend_from_slice(&self.flags.to_ne_bytes());
        for (kind, p) in [(FRA_DST, self.dst), (FRA_SRC, self.src)] {
            if let Some((a, l)) = p.filter(|(_, l)| *l > 0) {
                let _ = l;
                attr(&mut out, kind, &ip_bytes(a));
            }
        }
        for (kind, name) in [(FRA_IIFNAME, &self.iif), (FRA_OIFNAME, &self.oif)] {
            if let Some(n) = name {
                let mut v = n.as_bytes().to_vec();
                v.push(0);
                attr(&mut out, kind, &v);
            }
        }
        if let Some(p) = self.priority {
            attr(&mut out, FRA_PRIORITY, &p.to_ne_bytes());
        }
        if let Some((mark, mask)) = self.fwmark {
            attr(&mut out, FRA_FWMARK, &mark.to_ne_bytes());
            attr(&mut out, FRA_FWMASK, &mask.to_ne_bytes());
        }
        attr(&mut out, FRA_TABLE, &self.table.to_ne_bytes());
        attr(&mut out, FRA_PROTOCOL, &[self.protocol]);
        out
    }

    /// Decodes an `RTM_NEWRULE` / `RTM_DELRULE` payload; `None` when malformed or not
    /// IPv4/IPv6. Never panics.
    pub fn parse(payload: &[u8]) -> Option<Rule> {
        let h = payload.get(..HDR_LEN)?;
        let v6 = match h[0] {
            AF_INET => false,
            AF_INET6 => true,
            _ => return None,
        };
        let max = if v6 { 128 } else { 32 };
        let (dst_len, src_len) = (h[1], h[2]);
        if dst_len > max || src_len > max {
            return None;
        }
        let mut rule = Rule {
            v6,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            fwmark: None,
            table: u32::from(h[4]),
            priority: None,
            action: h[7],
            protocol: 0,
            tos: h[3],
            flags: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
        };
        let (mut mark, mut mask) = (None, None);
        for nla in NlasIterator::new(payload.get(HDR_LEN..)?) {
            let nla = nla.ok()?;
            let value = nla.value();
            match nla.kind() {
                FRA_DST => rule.dst = Some((ip_of(value, v6)?, dst_len)),
                FRA_SRC => rule.src = Some((ip_of(value, v6)?, src_len)),
                FRA_IIFNAME => rule.iif = Some(name_of(value)?),
                FRA_OIFNAME => rule.oif = Some(name_of(value)?),
                FRA_PRIORITY => rule.priority = Some(u32_of(value)?).filter(|&p| p != 0),
                FRA_FWMARK => mark = Some(u32_of(value)?),
                FRA_FWMASK => mask = Some(u32_of(value)?),
                FRA_TABLE => rule.table = u32_of(value)?,
                FRA_PROTOCOL => rule.protocol = *value.first()?,
                _ => {}
            }
        }
        // The kernel reports both whenever either is set.
        rule.fwmark = match (mark, mask) {
            (Some(m), k) if m != 0 || k.is_some_and(|k| k != 0) => Some((m, k.unwrap_or(u32::MAX))),
            _ => None,
        };
        Some(rule)
    }
}

/// A NUL-terminated interface name.
fn name_of(v: &[u8]) -> Option<IfName> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    if_name(std::str::from_utf8(&v[..end]).ok()?)
}

/// Adds `rule` (`EEXIST` when an identical one is there).
pub fn add(sock: &mut Socket, rule: &Rule) -> Result<(), Cause> {
    sock.request(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &Raw(&rule.encode()), |_| {})
}

/// Deletes `rule`; the kernel matches every field given, the protocol included.
pub fn delete(sock: &mut Socket, rule: &Rule) -> Result<(), Cause> {
    sock.request(RTM_DELRULE, NLM_F_ACK, &Raw(&rule.encode()), |_| {})
}

/// Dumps the rules of one family into `out`, keeping those `keep` accepts.
pub fn dump(
    sock: &mut Socket,
    v6: bool,
    out: &mut Vec<Rule>,
    keep: impl Fn(&Rule) -> bool,
) -> Result<(), Cause> {
    let mut header = [0u8; HDR_LEN];
    header[0] = if v6 { AF_INET6 } else { AF_INET };
    sock.dump_into(RTM_GETRULE, RTM_NEWRULE, &header, out, |p| Rule::parse(p).filter(|r| keep(r)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Rule {
        Rule {
            v6: false,
            src: Some(("192.0.2.0".parse().unwrap(), 24)),
            dst: None,
            iif: if_name("eth1"),
            oif: None,
            fwmark: Some((0x10, 0xff)),
            table: 100,
            priority: Some(1000),
            action: TO_TABLE,
            protocol: 75,
            tos: 0,
            flags: 0,
        }
    }

    #[test]
    fn encodes_like_ip_rule_add() {
        let bytes = sample().encode();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[2, 0, 24, 0, 100, 0, 0, 1][..], &0u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &FRA_SRC.to_ne_bytes(), &[192, 0, 2, 0],
            &9u16.to_ne_bytes(), &FRA_IIFNAME.to_ne_bytes(), b"eth1\0", &[0, 0, 0],
            &8u16.to_ne_bytes(), &FRA_PRIORITY.to_ne_bytes(), &1000u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &FRA_FWMARK.to_ne_bytes(), &0x10u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &FRA_FWMASK.to_ne_bytes(), &0xffu32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &FRA_TABLE.to_ne_bytes(), &100u32.to_ne_bytes(),
            &5u16.to_ne_bytes(), &FRA_PROTOCOL.to_ne_bytes(), &[75, 0, 0, 0],
        ].concat();
        assert_eq!(bytes, expected);
        assert_eq!(Rule::parse(&bytes), Some(sample()));
        use netlink_packet_core::Parseable;
        use netlink_packet_route::rule::{RuleAttribute, RuleMessage};
        let msg = RuleMessage::parse(&bytes[..]).unwrap();
        assert!(msg.attributes.contains(&RuleAttribute::Iifname("eth1".into())));
        assert!(msg.attributes.contains(&RuleAttribute::Table(100)));
    }

    #[test]
    fn big_tables_and_ipv6() {
        let r = Rule {
            v6: true,
            src: None,
            dst: Some(("2001:db8::".parse().unwrap(), 32)),
            iif: None,
            oif: if_name("wan"),
            fwmark: None,
            table: 70000,
            priority: None,
            ..sample()
        };
        let bytes = r.encode();
        assert_eq!(bytes[4], TABLE_COMPAT);
        assert_eq!(Rule::parse(&bytes), Some(r));
    }

    #[test]
    fn refuses_inconsistent_entries() {
        let mut bytes = sample().encode();
        bytes[0] = AF_INET6;
        assert_eq!(Rule::parse(&bytes), None);
        assert_eq!(Rule::parse(&[2, 0, 0]), None);
        assert_eq!(Rule::parse(&[2, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
