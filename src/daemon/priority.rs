//! The VRRP thread's CPU priority. Adverts must leave on time on a box whose CPUs are
//! busy (a router forwarding, an appliance compressing logs, a CI machine running
//! builds): measured on a 2-core machine with both cores loaded and more runnable work
//! than cores, the event loop at nice 0 let adverts of a 100 ms interval slip to 270 and
//! 490 ms. At nice -10 the kernel's fair scheduler gives the thread about nine times the
//! weight of ordinary work, so it runs soon after its timer fires; being nearly always
//! asleep, it takes next to nothing from anyone.
//!
//! Only this thread: the checks, IPVS and status threads were started before and keep
//! nice 0. Scripts it starts must not keep the boost, yet must not lose it before they
//! exec either: the thread that spawns waits until the child has exec'd (vfork), and a
//! child dropped to nice 0 at fork (`SCHED_RESET_ON_FORK`) waited behind the busy CPUs for
//! up to 220 ms, with the adverts. So the child keeps nice -10 until just before exec,
//! where `process::spawn` puts it back to 0.

/// The nice value of the VRRP thread.
pub const VRRP_NICE: i32 = -10;

/// Raises the calling thread (the VRRP event loop) to [`VRRP_NICE`]. Without
/// `CAP_SYS_NICE` it says so and runs on at nice 0.
pub fn raise_vrrp_thread() {
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), VRRP_NICE) {
        crate::log::info!("vrrp: running at nice 0: cannot set nice {VRRP_NICE}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_is_raised_and_its_children_are_not() {
        if !rustix::process::geteuid().is_root() {
            return; // a negative nice needs CAP_SYS_NICE
        }
        std::thread::spawn(|| {
            raise_vrrp_thread();
            let tid = rustix::thread::gettid();
            assert_eq!(rustix::process::getpriority_process(Some(tid)).unwrap(), VRRP_NICE);
            let out = std::env::temp_dir().join(format!("keeplite-nice-{}", std::process::id()));
            let cmd = format!("cut -d' ' -f19 /proc/$$/stat > {}", out.display());
            let now = std::time::Instant::now();
            let mut s =
                crate::process::spawn(&cmd, &[], None, now, std::time::Duration::from_secs(5)).unwrap();
            while s.poll(std::time::Instant::now()).is_none() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let nice = std::fs::read_to_string(&out).unwrap_or_default();
            let _ = std::fs::remove_file(&out);
            assert_eq!(nice.trim(), "0", "a script kept the boost");
        })
        .join()
        .unwrap();
    }
}
