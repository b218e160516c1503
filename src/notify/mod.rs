//! Notifications: keepalived's notify scripts and e-mail alerts, for VRRP transitions and
//! real servers going up or down. Each kind runs from a bounded queue of its own, so a
//! slow script or a dead mail server never holds up VRRP or IPVS, and a flood of
//! transitions cannot grow memory.
//!
//! The callers ask [`jobs`] what a transition causes and hand each piece of work to their
//! [`Runner`]; the runner starts scripts itself and passes mails to its mail thread.

pub mod counters;
pub mod email;
mod runner;

pub use email::{Alert, Settings};
pub use runner::{Report, Runner, TIMEOUT};

use crate::config::model::Notify;
use crate::vrrp::instance::State;

/// Whose transition a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Instance,
    Group,
}

/// One command to run, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub command: String,
    pub args: Vec<String>,
}

/// One piece of notification work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Script(Job),
    Mail(Alert),
}

impl From<Job> for Work {
    fn from(job: Job) -> Work {
        Work::Script(job)
    }
}

impl From<Alert> for Work {
    fn from(alert: Alert) -> Work {
        Work::Mail(alert)
    }
}

/// keepalived's state word for notify scripts and mails.
fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// What a transition into `state` causes, as keepalived does it: the state's own script
/// (`notify_master`, ...) as written, then `notify` with `INSTANCE|GROUP name STATE
/// priority`, then a mail when `smtp_alert` is on (none for the stop of the daemon,
/// which is not waited for).
pub fn jobs(kind: Kind, name: &str, state: State, priority: u8, notify: &Notify) -> Vec<Work> {
    let specific = match state {
        State::Master => &notify.master,
        State::Backup => &notify.backup,
        State::Fault => &notify.fault,
        State::Initialize => &notify.stop,
    };
    let mut out = Vec::new();
    if let Some(c) = specific {
        out.push(Job { command: c.clone(), args: Vec::new() }.into());
    }
    if let Some(c) = &notify.any {
        let word = if kind == Kind::Instance { "INSTANCE" } else { "GROUP" };
        let args = vec![word.to_owned(), name.to_owned(), state_word(state).to_owned(), priority.to_string()];
        out.push(Job { command: c.clone(), args }.into());
    }
    if notify.smtp_alert && state != State::Initialize {
        out.push(Alert::Vrrp { kind, name: name.to_owned(), state }.into());
    }
    out
}

/// What a change of an instance's effective priority causes with
/// `notify_priority_changes`: the `notify` script with the words keepalived writes to its
/// notify FIFO for it, `INSTANCE name MASTER_PRIORITY|BACKUP_PRIORITY priority` (keepalived
/// runs no script for it; its FIFO is keeplite's event stream). The state scripts do not
/// run, and no mail goes out.
pub fn priority_job(name: &str, state: State, priority: u8, notify: &Notify) -> Option<Work> {
    let command = notify.any.as_ref()?;
    let word = if state == State::Master { "MASTER_PRIORITY" } else { "BACKUP_PRIORITY" };
    let args = vec!["INSTANCE".to_owned(), name.to_owned(), word.to_owned(), priority.to_string()];
    Some(Job { command: command.clone(), args }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify() -> Notify {
        Notify {
            any: Some("/etc/keeplite/notify.sh".into()),
            master: Some("/etc/keeplite/master.sh --now".into()),
            ..Notify::default()
        }
    }

    #[test]
    fn keepalived_arguments() {
        let j = jobs(Kind::Instance, "gw", State::Master, 200, &notify());
        assert_eq!(
            j,
            vec![
                Work::Script(Job { command: "/etc/keeplite/master.sh --now".into(), args: vec![] }),
                Work::Script(Job {
                    command: "/etc/keeplite/notify.sh".into(),
                    args: vec!["INSTANCE".into(), "gw".into(), "MASTER".into(), "200".into()],
                }),
            ]
        );
        let j = jobs(Kind::Group, "pair", State::Initialize, 100, &notify());
        assert!(matches!(&j[0], Work::Script(Job { args, .. }) if args == &["GROUP", "pair", "STOP", "100"]));
        assert!(jobs(Kind::Instance, "gw", State::Fault, 1, &Notify::default()).is_empty());
    }

    #[test]
    fn priority_changes_run_notify_with_the_fifo_words() {
        let j = priority_job("gw", State::Master, 140, &notify());
        assert_eq!(
            j,
            Some(Work::Script(Job {
                command: "/etc/keeplite/notify.sh".into(),
                args: vec!["INSTANCE".into(), "gw".into(), "MASTER_PRIORITY".into(), "140".into()],
            }))
        );
        let j = priority_job("gw", State::Fault, 90, &notify());
        assert!(matches!(&j, Some(Work::Script(Job { args, .. })) if args[2] == "BACKUP_PRIORITY"));
        // Only the generic script: none without it, and never a mail.
        let mailing = Notify { smtp_alert: true, master: Some("/bin/true".into()), ..Notify::default() };
        assert_eq!(priority_job("gw", State::Master, 1, &mailing), None);
    }

    #[test]
    fn smtp_alert_adds_a_mail_except_at_stop() {
        let mailing = Notify { smtp_alert: true, ..Notify::default() };
        for (state, mails) in
            [(State::Master, 1), (State::Backup, 1), (State::Fault, 1), (State::Initialize, 0)]
        {
            let j = jobs(Kind::Group, "pair", state, 0, &mailing);
            assert_eq!(j.len(), mails, "{state:?}");
            for w in j {
                assert_eq!(w, Work::Mail(Alert::Vrrp { kind: Kind::Group, name: "pair".into(), state }));
            }
        }
        let both = Notify { smtp_alert: true, ..notify() };
        let j = jobs(Kind::Instance, "gw", State::Master, 200, &both);
        assert!(matches!(j[..], [Work::Script(_), Work::Script(_), Work::Mail(_)]));
    }
}
