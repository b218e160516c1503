//! E-mail alerts: what a mail says (subjects as keepalived writes them), and the mail
//! queue: a bounded channel to a thread of its own that sends each mail with
//! [`crate::smtp::client`], a bounded number of times with a pause between attempts.
//!
//! The thread starts with the first alert, so a configuration without `smtp_alert` costs
//! nothing. Queueing never blocks: when the queue is full the alert is dropped, counted,
//! and the overflow logged once per burst.

use super::counters::{self, Count};
use super::{state_word, Kind};
use crate::config::model::{Global, RealServer, ServiceKey, VirtualServer};
use crate::limits;
use crate::log;
use crate::smtp::client::{self, Envelope};
use crate::smtp::message::{self, Mail};
use crate::vrrp::instance::State;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Pause between two attempts at one mail.
pub const RETRY_PAUSE: Duration = Duration::from_secs(3);
/// The mail thread's stack: the dialogue's buffers are on the heap; name lookups need some.
const STACK_BYTES: usize = 256 * 1024;

/// Where alerts go, from the `global` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub server: String,
    pub port: u16,
    pub from: String,
    pub to: Vec<String>,
    pub helo: String,
    /// Each attempt (connection and whole dialogue) must finish within this.
    pub timeout: Duration,
    pub retry_pause: Duration,
    /// The `[router_id]` that starts each subject.
    pub router_id: String,
}

impl Settings {
    /// The settings of `global`; none without `smtp_server` or `alert_email`.
    pub fn from_config(global: &Global) -> Option<Settings> {
        let (server, port) = global.smtp_server.clone()?;
        (!global.alert_email.is_empty()).then(|| Settings {
            server,
            port,
            from: global.smtp_from.clone(),
            to: global.alert_email.iter().cloned().collect(),
            helo: global.smtp_helo_name.clone(),
            timeout: global.smtp_timeout,
            retry_pause: RETRY_PAUSE,
            router_id: global.router_id.clone(),
        })
    }
}

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A VRRP instance or sync group entered `state`.
    Vrrp { kind: Kind, name: String, state: State },
    /// A real server of a virtual server went up or down.
    RealServer {
        /// The `real_server` section.
        name: String,
        /// `[198.51.100.10]:80`.
        server: String,
        /// The `virtual_server` section.
        virtual_server: String,
        /// `[203.0.113.1]:80`, `[203.0.113.1]:80,443` or `FWM 7`.
        service: String,
        up: bool,
    },
}

impl Alert {
    /// Real server `rs` of virtual server `vs` went up or down.
    pub fn real_server(rs: &RealServer, vs: &VirtualServer, up: bool) -> Alert {
        let ports: Vec<String> =
            match &vs.key {
                ServiceKey::Address { ports, .. } => ports
                    .iter()
                    .map(|r| {
                        if r.first == r.last {
                            r.first.to_string()
                        } else {
                            format!("{}-{}", r.first, r.last)
                        }
                    })
                    .collect(),
                ServiceKey::Fwmark { .. } => Vec::new(),
            };
        // Without a port of its own the real server takes the service's, whichever it is.
        let port = rs.port.map(|p| p.to_string()).or_else(|| (ports.len() == 1).then(|| ports[0].clone()));
        let server = match port {
            Some(p) => format!("{}:{p}", bracketed(rs.address)),
            None => bracketed(rs.address),
        };
        let service = match &vs.key {
            ServiceKey::Address { addr, .. } => format!("{}:{}", bracketed(*addr), ports.join(",")),
            ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        };
        Alert::RealServer { name: rs.name.clone(), server, virtual_server: vs.name.clone(), service, up }
    }

    /// keepalived's subjects: `[router_id] VRRP Instance gw - Entering MASTER state`,
    /// `[router_id] Realserver [198.51.100.10]:80 of virtual server [203.0.113.1]:80 - DOWN`.
    pub fn subject(&self, router_id: &str) -> String {
        match self {
            Alert::Vrrp { kind, name, state } => {
                let what = if *kind == Kind::Instance { "Instance" } else { "Group" };
                format!("[{router_id}] VRRP {what} {name} - Entering {} state", state_word(*state))
            }
            Alert::RealServer { server, service, up, .. } => {
                format!("[{router_id}] Realserver {server} of virtual server {service} - {}", up_word(*up))
            }
        }
    }

    /// A few lines: what happened, in keepalived's words, and which sections.
    pub fn body(&self) -> String {
        match self {
            Alert::Vrrp { kind: Kind::Instance, name, state } => {
                let line = match state {
                    State::Master => "=> VRRP Instance is now owning VRRP VIPs <=",
                    State::Backup => "=> VRRP Instance is no longer owning VRRP VIPs <=",
                    _ => "=> VRRP Instance is now in FAULT state <=",
                };
                format!("{line}\n\nvrrp {name}: {}\n", state_word(*state))
            }
            Alert::Vrrp { kind: Kind::Group, name, state } => {
                let word = state_word(*state);
                format!(
                    "=> All VRRP group instances are now in {word} state <=\n\nsync_group {name}: {word}\n"
                )
            }
            Alert::RealServer { name, virtual_server, up, .. } => {
                let line =
                    if *up { "=> CHECK succeeded on service <=" } else { "=> CHECK failed on service <=" };
                format!("{line}\n\nreal_server {name} of virtual_server {virtual_server}: {}\n", up_word(*up))
            }
        }
    }
}

fn up_word(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

/// keepalived writes every address in brackets, IPv4 too.
fn bracketed(addr: IpAddr) -> String {
    format!("[{addr}]")
}

/// The queue of one thread's alerts, and the mail thread behind it.
#[derive(Debug)]
pub struct Mailer {
    settings: Arc<Settings>,
    /// `None` until the first alert starts the thread.
    queue: Option<SyncSender<Mail>>,
    /// Alerts dropped since the queue last had room.
    dropping: u64,
}

impl Mailer {
    /// A mailer with no thread yet.
    pub fn new(settings: Settings) -> Mailer {
        Mailer { settings: Arc::new(settings), queue: None, dropping: 0 }
    }

    /// Queues a mail for `alert`, dated now; never waits.
    pub fn send(&mut self, alert: &Alert) {
        let s = &self.settings;
        let mail = Mail {
            from: s.from.clone(),
            to: s.to.clone(),
            subject: alert.subject(&s.router_id),
            body: alert.body(),
            date: SystemTime::now(),
        };
        let Some(queue) = self.queue() else {
            counters::add(Count::MailFailed);
            return log::error!("mail: \"{}\" not sent: cannot start the mail thread", mail.subject);
        };
        match queue.try_send(mail) {
            Ok(()) => {
                if self.dropping > 0 {
                    log::info!("mail: the queue has room again; {} alert(s) were dropped", self.dropping);
                    self.dropping = 0;
                }
            }
            Err(TrySendError::Full(mail)) => {
                counters::add(Count::MailDropped);
                if self.dropping == 0 {
                    log::error!(
                        "mail: queue full ({} waiting): dropping alerts until it drains, first \"{}\"",
                        limits::MAIL_QUEUE,
                        mail.subject
                    );
                }
                self.dropping += 1;
            }
            Err(TrySendError::Disconnected(mail)) => {
                // The thread is gone (it never panics by design): start another next time.
                self.queue = None;
                counters::add(Count::MailFailed);
                log::error!("mail: \"{}\" not sent: the mail thread stopped", mail.subject);
            }
        }
    }

    /// The queue, starting the thread on first use.
    fn queue(&mut self) -> Option<&SyncSender<Mail>> {
        if self.queue.is_none() {
            let (tx, rx) = sync_channel(limits::MAIL_QUEUE);
            let settings = self.settings.clone();
            let spawned = std::thread::Builder::new()
                .name("mail".into())
                .stack_size(STACK_BYTES)
                .spawn(move || deliver_all(&settings, &rx));
            if let Err(e) = spawned {
                log::error!("mail: cannot start the mail thread: {e}");
                return None;
            }
            self.queue = Some(tx);
        }
        self.queue.as_ref()
    }
}

/// The mail thread: sends mails in order until every sender is gone.
fn deliver_all(settings: &Settings, queue: &Receiver<Mail>) {
    while let Ok(mail) = queue.recv() {
        deliver(settings, &mail);
    }
}

/// Sends one mail: up to MAIL_ATTEMPTS attempts, `retry_pause` apart, but one only when the
/// server refuses for good (a 5xx).
fn deliver(s: &Settings, mail: &Mail) {
    let data = message::data(mail);
    let envelope = Envelope { helo: &s.helo, from: &s.from, to: &s.to, data: &data };
    let subject = &mail.subject;
    for attempt in 1..=limits::MAIL_ATTEMPTS {
        match client::send(&s.server, s.port, Instant::now() + s.timeout, &envelope) {
            Ok(sent) => {
                counters::add(Count::MailSent);
                for (rcpt, code) in &sent.refused {
                    log::error!("mail: \"{subject}\": {} refused recipient {rcpt} ({code})", s.server);
                }
                let delivered = s.to.len() - sent.refused.len();
                return log::info!("mail: sent \"{subject}\" to {delivered} recipient(s) via {}", s.server);
            }
            Err(f) if f.permanent() => {
                counters::add(Count::MailFailed);
                return log::error!(
                    "mail: \"{subject}\" not sent: {} refused it: {f}; not retried",
                    s.server
                );
            }
            Err(f) if attempt < limits::MAIL_ATTEMPTS => {
                log::info!(
                    "mail: \"{subject}\": attempt {attempt} of {} via {} failed: {f}; retrying in {}s",
                    limits::MAIL_ATTEMPTS,
                    s.server,
                    s.retry_pause.as_secs_f32()
                );
                std::thread::sleep(s.retry_pause);
            }
            Err(f) => {
                counters::add(Count::MailFailed);
                log::error!(
                    "mail: \"{subject}\" not sent after {} attempts via {}: {f}",
                    limits::MAIL_ATTEMPTS,
                    s.server
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
