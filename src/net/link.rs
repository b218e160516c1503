//! Links: look-up by name or index (index, MAC, up and running, MTU), administrative
//! up/down, and the macvlan and ipvlan interfaces of keepalived's `use_vmac` and
//! `use_ipvlan`.

use super::error::{Cause, Error, Op};
use super::netlink::Socket;
use netlink_packet_core::{
    parse_string, parse_u32, parse_u8, Emitable, NlasIterator, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
};
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, IpVlanFlags, IpVlanMode, LinkAttribute, LinkExtentMask,
    LinkFlags, LinkHeader, LinkInfo, LinkMessage, MacVlanMode, State,
};
use rustix::io::Errno;

/// An interface name as the kernel keeps it: at most 15 bytes (`IFNAMSIZ` - 1).
pub type IfName = heapless::String<15>;

/// `RTM_NEWLINK`: a link's state (a reply, or a notification of a change).
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`: a link was deleted.
pub const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;

// The IFLA_* attributes keeplite reads (linux/if_link.h).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
/// `IFLA_INFO_KIND`, nested in `IFLA_LINKINFO`: the link's driver ("vrf", "macvlan", ...).
const IFLA_INFO_KIND: u16 = 1;

/// `name` as an [`IfName`], if it can be one: 1..=15 bytes, no NUL.
pub fn if_name(name: &str) -> Option<IfName> {
    if name.is_empty() || name.contains('\0') {
        return None;
    }
    IfName::try_from(name).ok()
}

/// `name` cut to what an [`IfName`] holds, for naming an object in an error message; a
/// cut name ends in "..." so that nobody takes it for the real one.
fn lossy_name(name: &str) -> IfName {
    if let Ok(whole) = IfName::try_from(name) {
        return whole;
    }
    let mut out = IfName::new();
    for c in name.chars() {
        if out.len() + c.len_utf8() > out.capacity() - 3 {
            break;
        }
        let _ = out.push(c); // fits: checked above
    }
    let _ = out.push_str("...");
    out
}

/// The validated name, or the error that `op` failed on a bad name.
fn checked_name(name: &str, op: impl FnOnce(IfName) -> Op) -> Result<IfName, Error> {
    if_name(name).ok_or_else(|| Error::new(op(lossy_name(name)), Cause::BadName))
}

/// RFC 2863 operational state (`IFLA_OPERSTATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
    /// A value newer than this list.
    Other(u8),
}

impl From<State> for OperState {
    fn from(s: State) -> OperState {
        match s {
            State::Unknown => OperState::Unknown,
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            State::Other(v) => OperState::Other(v),
            // State is non-exhaustive; a variant added later reads as unknown.
            _ => OperState::Unknown,
        }
    }
}

/// One link as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: IfName,
    /// Hardware address, when it is a 6-byte (Ethernet) one.
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_RUNNING`: operationally up (the kernel sets it for oper state UP or UNKNOWN).
    pub running: bool,
    /// `IFF_LOWER_UP`: carrier.
    pub lower_up: bool,
    /// `IFLA_OPERSTATE`, when the kernel sent it.
    pub oper: OperState,
    /// MTU (0 when the kernel did not send it).
    pub mtu: u32,
    /// `IFLA_LINK`: the parent link of a macvlan or VLAN (`None` when it has none).
    pub parent: Option<u32>,
    /// `IFLA_MASTER`: the link this one is enslaved to (a VRF, a bridge, a bond).
    pub master: Option<u32>,
    /// The link is a VRF device (`IFLA_INFO_KIND` "vrf").
    pub vrf: bool,
}

impl Link {
    /// Up for VRRP: administratively up and running.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.running
    }

    /// Decodes an `RTM_NEWLINK` / `RTM_DELLINK` payload; `None` when it is malformed or
    /// has no name.
    ///
    /// Only the attributes keeplite uses are decoded: netlink-packet-route fails a whole
    /// message on one attribute it cannot parse, and kernels keep adding attributes, so
    /// decoding all of them would let an unrelated new one break a link look-up.
    pub fn parse(payload: &[u8]) -> Option<Link> {
        let header = LinkHeader::parse(payload).ok()?;
        let mut link = Link {
            index: header.index,
            name: IfName::new(),
            mac: None,
            admin_up: header.flags.contains(LinkFlags::Up),
            running: header.flags.contains(LinkFlags::Running),
            lower_up: header.flags.contains(LinkFlags::LowerUp),
            oper: OperState::Unknown,
            mtu: 0,
            parent: None,
            master: None,
            vrf: false,
        };
        for nla in NlasIterator::new(payload.get(header.buffer_len()..)?) {
            let nla = nla.ok()?;
            if !matches!(
                nla.kind(),
                IFLA_ADDRESS
                    | IFLA_IFNAME
                    | IFLA_MTU
                    | IFLA_LINK
                    | IFLA_MASTER
                    | IFLA_OPERSTATE
                    | IFLA_LINKINFO
            ) {
                continue;
            }
            // netlink-packet-core's checked value parsers, without LinkAttribute's parser:
            // that one decodes every link kind (bond, vxlan, CAN, ...) and costs ~180 KB.
            let value = nla.value();
            match nla.kind() {
                IFLA_IFNAME => link.name = if_name(&parse_string(value).ok()?)?,
                IFLA_ADDRESS => link.mac = <[u8; 6]>::try_from(value).ok(),
                IFLA_MTU => link.mtu = parse_u32(value).ok()?,
                IFLA_LINK => link.parent = Some(parse_u32(value).ok()?).filter(|p| *p != 0),
                IFLA_MASTER => link.master = Some(parse_u32(value).ok()?).filter(|m| *m != 0),
                IFLA_LINKINFO => link.vrf = info_kind(value)? == "vrf",
                IFLA_OPERSTATE => link.oper = State::from(parse_u8(value).ok()?).into(),
                _ => {}
            }
        }
        (link.index != 0 && !link.name.is_empty()).then_some(link)
    }
}

/// The `IFLA_INFO_KIND` of an `IFLA_LINKINFO` nest ("" when it has none); `None` when the
/// nest is malformed.
fn info_kind(nest: &[u8]) -> Option<String> {
    for nla in NlasIterator::new(nest) {
        let nla = nla.ok()?;
        if nla.kind() == IFLA_INFO_KIND {
            return parse_string(nla.value()).ok();
        }
    }
    Some(String::new())
}

/// A `RTM_GETLINK` that leaves out the statistics blocks nobody here reads.
fn get_link(index: u32, name: Option<&IfName>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    if let Some(name) = name {
        msg.attributes.push(LinkAttribute::IfName(name.as_str().into()));
    }
    msg.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

/// Sends a link query and decodes its one answer.
fn query(sock: &mut Socket, msg: LinkMessage) -> Result<Link, Cause> {
    let mut found = None;
    let mut malformed = false;
    sock.request(RTM_GETLINK, NLM_F_ACK, &msg, |frame| {
        if frame.kind == RTM_NEWLINK {
            match Link::parse(frame.payload) {
                Some(link) => found = Some(link),
                None => malformed = true,
            }
        }
    })?;
    match found {
        Some(link) => Ok(link),
        None if malformed => Err(Cause::Malformed("undecodable RTM_NEWLINK")),
        None => Err(Cause::NoAnswer),
    }
}

/// The link called `name` (`ENODEV`, [`super::ErrorKind::NoDevice`], when there is none).
pub fn by_name(sock: &mut Socket, name: &str) -> Result<Link, Error> {
    let name = checked_name(name, Op::GetLink)?;
    query(sock, get_link(0, Some(&name))).map_err(|cause| Error::new(Op::GetLink(name), cause))
}

/// The link with index `index`.
pub fn by_index(sock: &mut Socket, index: u32) -> Result<Link, Error> {
    if index == 0 {
        // Index 0 means "select by name" to the kernel; with no name it is no link.
        return Err(Error::new(Op::GetLinkIndex(0), Cause::Kernel(Errno::NODEV)));
    }
    query(sock, get_link(index, None)).map_err(|cause| Error::new(Op::GetLinkIndex(index), cause))
}

/// Sets the link called `name` administratively up or down.
pub fn set_up(sock: &mut Socket, name: &str, up: bool) -> Result<(), Error> {
    let link = checked_name(name, |link| Op::SetLink { link, up })?;
    let mut msg = LinkMessage::default();
    msg.header.flags = if up { LinkFlags::Up } else { LinkFlags::empty() };
    msg.header.change_mask = LinkFlags::Up;
    msg.attributes.push(LinkAttribute::IfName(link.as_str().into()));
    sock.request(RTM_SETLINK, NLM_F_ACK, &msg, |_| {})
        .map_err(|cause| Error::new(Op::SetLink { link, up }, cause))
}

/// Creates macvlan `name` on `parent` in private mode with hardware address `mac`, as
/// keepalived does for `use_vmac`, enslaved to `master` (the parent's VRF) when given; it
/// starts down. An existing `name` is [`super::ErrorKind::Exists`].
pub fn add_macvlan(
    sock: &mut Socket,
    name: &str,
    parent: &Link,
    mac: [u8; 6],
    master: Option<u32>,
) -> Result<(), Error> {
    // Private, keepalived's mode: macvlans on one parent exchange no frames with each
    // other, so the vmacs of several instances on one box stay apart.
    let data = InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Private)]);
    add_link(sock, "macvlan", name, parent, InfoKind::MacVlan, data, Some(mac), master)
}

/// How the ipvlans of one parent exchange frames (`IPVLAN_F_*`), in L2 mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanMode {
    /// Frames between them go straight across (no flag).
    Bridge,
    /// They exchange none (`IPVLAN_F_PRIVATE`).
    Private,
    /// Frames between them go out to the switch and back (`IPVLAN_F_VEPA`).
    Vepa,
}

/// Creates an L2 ipvlan `name` on `parent` (it has the parent's MAC), as keepalived does
/// for `use_ipvlan`, enslaved to `master` when given; it starts down.
pub fn add_ipvlan(
    sock: &mut Socket,
    name: &str,
    parent: &Link,
    mode: IpvlanMode,
    master: Option<u32>,
) -> Result<(), Error> {
    let flags = match mode {
        IpvlanMode::Bridge => IpVlanFlags::empty(),
        IpvlanMode::Private => IpVlanFlags::Private,
        IpvlanMode::Vepa => IpVlanFlags::Vepa,
    };
    let data = InfoData::IpVlan(vec![InfoIpVlan::Mode(IpVlanMode::L2), InfoIpVlan::Flags(flags)]);
    add_link(sock, "ipvlan", name, parent, InfoKind::IpVlan, data, None, master)
}

/// Creates link `name` of `kind` on `parent`: `RTM_NEWLINK` with `NLM_F_EXCL`.
#[allow(clippy::too_many_arguments)]
fn add_link(
    sock: &mut Socket,
    what: &'static str,
    name: &str,
    parent: &Link,
    kind: InfoKind,
    data: InfoData,
    mac: Option<[u8; 6]>,
    master: Option<u32>,
) -> Result<(), Error> {
    let op = |name| Op::AddLink { kind: what, name, parent: parent.name.clone() };
    let name = checked_name(name, op)?;
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.as_str().into()));
    msg.attributes.push(LinkAttribute::Link(parent.index));
    if let Some(mac) = mac {
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(master) = master {
        msg.attributes.push(LinkAttribute::Controller(master));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind), LinkInfo::Data(data)]));
    sock.request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &msg, |_| {})
        .map_err(|cause| Error::new(op(name), cause))
}

/// Deletes the link called `name`; a missing one is [`super::ErrorKind::NoDevice`].
pub fn delete(sock: &mut Socket, name: &str) -> Result<(), Error> {
    let name = checked_name(name, Op::DelLink)?;
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.as_str().into()));
    sock.request(RTM_DELLINK, NLM_F_ACK, &msg, |_| {}).map_err(|cause| Error::new(Op::DelLink(name), cause))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    /// The payload of an RTM_NEWLINK as the kernel would send it.
    pub(crate) fn newlink(index: u32, name: &str, flags: LinkFlags, extra: Vec<LinkAttribute>) -> Vec<u8> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = flags;
        msg.attributes.push(LinkAttribute::IfName(name.into()));
        msg.attributes.extend(extra);
        let mut out = vec![0; msg.buffer_len()];
        msg.emit(&mut out);
        out
    }

    #[test]
    fn parses_the_attributes_it_needs() {
        let payload = newlink(
            3,
            "eth0",
            LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp,
            vec![
                LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]),
                LinkAttribute::Mtu(1500),
                LinkAttribute::OperState(State::Up),
                LinkAttribute::Link(7),
            ],
        );
        let link = Link::parse(&payload).unwrap();
        assert_eq!(link.index, 3);
        assert_eq!(link.name.as_str(), "eth0");
        assert_eq!(link.mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!((link.mtu, link.oper, link.parent), (1500, OperState::Up, Some(7)));
        assert!(link.is_up() && link.lower_up);
        let down = Link::parse(&newlink(3, "eth0", LinkFlags::Up, vec![])).unwrap();
        assert!(!down.is_up() && down.admin_up);
        assert_eq!(down.mac, None);
    }

    #[test]
    fn the_master_and_a_vrf_are_read() {
        let slave =
            Link::parse(&newlink(3, "eth0", LinkFlags::Up, vec![LinkAttribute::Controller(9)])).unwrap();
        assert_eq!((slave.master, slave.vrf), (Some(9), false));
        let info = |kind| vec![LinkAttribute::LinkInfo(vec![LinkInfo::Kind(kind)])];
        let vrf = Link::parse(&newlink(9, "blue", LinkFlags::Up, info(InfoKind::Vrf))).unwrap();
        assert_eq!((vrf.master, vrf.vrf), (None, true));
        let bridge = Link::parse(&newlink(8, "br0", LinkFlags::Up, info(InfoKind::Bridge))).unwrap();
        assert!(!bridge.vrf);
    }

    #[test]
    fn an_undecodable_unrelated_attribute_does_not_fail_the_link() {
        let mut payload = newlink(3, "eth0", LinkFlags::Up, vec![]);
        // IFLA_STATS64 (23) with a length no Stats64 parser accepts.
        payload.extend_from_slice(&[7, 0, 23, 0, 1, 2, 3, 0]);
        assert_eq!(Link::parse(&payload).unwrap().name.as_str(), "eth0");
    }

    #[test]
    fn bad_links_are_rejected() {
        assert!(Link::parse(&[0; 8]).is_none());
        assert!(Link::parse(&newlink(0, "eth0", LinkFlags::Up, vec![])).is_none());
        assert!(Link::parse(&newlink(3, "a-name-far-too-long", LinkFlags::Up, vec![])).is_none());
        // IFLA_MTU with 2 bytes.
        let mut payload = newlink(3, "eth0", LinkFlags::Up, vec![]);
        payload.extend_from_slice(&[6, 0, 4, 0, 1, 2, 0, 0]);
        assert!(Link::parse(&payload).is_none());
    }

    #[test]
    fn interface_names() {
        assert_eq!(if_name("eth0").as_deref(), Some("eth0"));
        assert_eq!(if_name("fifteen-bytes-x").as_deref(), Some("fifteen-bytes-x"));
        assert_eq!(if_name("sixteen-bytes-xx"), None);
        assert_eq!(if_name(""), None);
        assert_eq!(if_name("a\0b"), None);
        assert_eq!(lossy_name("sixteen-bytes-xx").as_str(), "sixteen-byte...");
        assert_eq!(lossy_name("ééééééééé").as_str(), "éééééé...");
        assert_eq!(lossy_name("eth0").as_str(), "eth0");
    }
}
