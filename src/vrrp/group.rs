//! Sync groups: members move together, as keepalived's vrrp_sync_group.
//!
//! A pure coordinator. After any member's transition the daemon shows it every member's
//! state and own fault, and the event; it answers with what the other members must do.
//! Transitions it causes carry [`Reason::SyncGroup`] and cause nothing further, so a
//! group settles in one round.

use super::instance::{Reason, State};

/// What the coordinator needs to know of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub state: State,
    /// The member's own link or an unweighted tracked object is down.
    pub own_fault: bool,
    /// The group already imposes a fault on the member.
    pub group_fault: bool,
}

/// An order for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Set or clear the fault the group imposes.
    GroupFault(bool),
    ForceMaster,
    ForceBackup,
}

/// What every member must do after member `event.0` moved to `event.1` for `event.2`
/// (or after a fault changed, with `None`). Commands only for members that must change.
pub fn commands(members: &[Member], event: Option<(usize, State, Reason)>) -> Vec<(usize, Command)> {
    let mut out = Vec::new();
    // One member's own fault is every other member's group fault.
    for (i, m) in members.iter().enumerate() {
        let others_faulty = members.iter().enumerate().any(|(k, o)| k != i && o.own_fault);
        if others_faulty != m.group_fault {
            out.push((i, Command::GroupFault(others_faulty)));
        }
    }
    let Some((mover, to, reason)) = event else { return out };
    if reason == Reason::SyncGroup || members.iter().any(|m| m.own_fault) {
        return out;
    }
    let follow = match to {
        State::Master => Some((State::Backup, Command::ForceMaster)),
        State::Backup => Some((State::Master, Command::ForceBackup)),
        State::Fault | State::Initialize => None,
    };
    if let Some((from, command)) = follow {
        for (i, m) in members.iter().enumerate() {
            if i != mover && m.state == from {
                out.push((i, command));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(state: State, own_fault: bool) -> Member {
        Member { state, own_fault, group_fault: false }
    }

    fn imposed(state: State) -> Member {
        Member { state, own_fault: false, group_fault: true }
    }

    #[test]
    fn a_master_pulls_the_backups_along() {
        let members = [m(State::Master, false), m(State::Backup, false), m(State::Backup, false)];
        let cmds = commands(&members, Some((0, State::Master, Reason::MasterDown)));
        assert_eq!(cmds, vec![(1, Command::ForceMaster), (2, Command::ForceMaster)]);
        // Forced transitions do not echo.
        assert_eq!(commands(&members, Some((1, State::Master, Reason::SyncGroup))), vec![]);
    }

    #[test]
    fn a_preempted_member_takes_the_others_back() {
        let members = [m(State::Backup, false), m(State::Master, false)];
        assert_eq!(
            commands(&members, Some((0, State::Backup, Reason::Preempted))),
            vec![(1, Command::ForceBackup)]
        );
    }

    #[test]
    fn one_fault_faults_all_and_recovery_releases_them() {
        let members = [m(State::Fault, true), m(State::Master, false), m(State::Backup, false)];
        let cmds = commands(&members, Some((0, State::Fault, Reason::Fault)));
        assert_eq!(cmds, vec![(1, Command::GroupFault(true)), (2, Command::GroupFault(true))]);
        // Recovered: the others' imposed fault is lifted.
        let members = [m(State::Backup, false), imposed(State::Fault), imposed(State::Fault)];
        let cmds = commands(&members, Some((0, State::Backup, Reason::Recovered)));
        assert_eq!(cmds, vec![(1, Command::GroupFault(false)), (2, Command::GroupFault(false))]);
        // Two members faulty on their own: each imposes on the other, nothing to lift.
        let both = Member { state: State::Fault, own_fault: true, group_fault: true };
        let members = [both, both];
        assert_eq!(commands(&members, None), vec![]);
    }

    #[test]
    fn nobody_follows_into_mastership_while_a_member_is_faulty() {
        let members = [m(State::Master, false), m(State::Fault, true)];
        assert_eq!(
            commands(&members, Some((0, State::Master, Reason::MasterDown))),
            vec![(0, Command::GroupFault(true))]
        );
    }
}
