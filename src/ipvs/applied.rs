//! What the kernel holds after a list of writes, computed the way the kernel carries them
//! out: the IPVS thread keeps its last reading of the table up to date with it, so a
//! health change needs no read back, and the reconcile tests check their writes with it.

use super::model::{
    DestConns, DestKey, DumpedDest, DumpedService, Service, ServiceKey, Stats, SVC_FLAGS_MANAGED,
    SVC_F_HASHED,
};
use super::reconcile::Op;
use std::collections::HashMap;

/// The kernel's view of a table after `ops`, refusing what the kernel refuses (adding
/// what exists, changing what does not). Edits change only the managed flags, as the
/// client writes them with that mask.
pub fn applied(kernel: &[DumpedService], ops: &[Op]) -> Result<Vec<DumpedService>, String> {
    let mut table = kernel.to_vec();
    // Where each service is: a thousand services take thousands of writes at start.
    let mut index: HashMap<ServiceKey, usize> =
        table.iter().enumerate().map(|(i, s)| (s.service.key, i)).collect();
    for op in ops {
        let refused = || format!("kernel refuses: {op}");
        let key = op.service_key();
        let at = index.get(&key).copied();
        let i = match (op, at) {
            (Op::AddService(s), None) => {
                let service = Service { flags: s.flags | SVC_F_HASHED, ..s.clone() };
                index.insert(key, table.len());
                table.push(DumpedService { service, stats: Stats::default(), dests: Vec::new() });
                continue;
            }
            (Op::AddService(_), Some(_)) | (_, None) => return Err(refused()),
            (_, Some(i)) => i,
        };
        if let Op::DelService(_) = op {
            index.remove(&key);
            table.swap_remove(i);
            if let Some(moved) = table.get(i) {
                index.insert(moved.service.key, i);
            }
            continue;
        }
        let entry = &mut table[i];
        let dest_at = |dests: &[DumpedDest], key: DestKey| dests.iter().position(|d| d.dest.key == key);
        match op {
            Op::EditService(s) => {
                let k = &mut entry.service;
                k.flags = (k.flags & !SVC_FLAGS_MANAGED) | (s.flags & SVC_FLAGS_MANAGED);
                (k.scheduler, k.timeout, k.netmask) = (s.scheduler.clone(), s.timeout, s.netmask);
            }
            Op::AddDest(_, d) => match dest_at(&entry.dests, d.key) {
                None => entry.dests.push(dumped_dest(*d)),
                Some(_) => return Err(refused()),
            },
            Op::EditDest(_, d) => {
                let j = dest_at(&entry.dests, d.key).ok_or_else(refused)?;
                entry.dests[j].dest = *d;
            }
            Op::DelDest(_, key) => {
                let j = dest_at(&entry.dests, *key).ok_or_else(refused)?;
                entry.dests.remove(j);
            }
            Op::AddService(_) | Op::DelService(_) => {}
        }
    }
    Ok(table)
}

fn dumped_dest(dest: super::model::Dest) -> DumpedDest {
    DumpedDest { dest, conns: DestConns::default(), stats: Stats::default() }
}
