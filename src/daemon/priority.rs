//! The VRRP thread's CPU priority. Adverts must leave on time on a box whose CPUs are
//! busy (a router forwarding, an appliance compressing logs, a CI machine running
//! builds): measured on a 2-core machine with both cores loaded and more runnable work
//! than cores, the event loop at nice 0 let adverts of a 100 ms interval slip to 270 and
//! 490 ms. At nice -10 the kernel's fair scheduler gives the thread about nine times the
//! weight of ordinary work, so it runs soon after its timer fires; being nearly always
//! asleep, it takes next to nothing from anyone.
//!
//! Only this thread: the checks, IPVS and status threads were started before and keep
//! nice 0. Scripts it starts must not inherit the boost: `SCHED_RESET_ON_FORK` makes the
//! kernel give every child nice 0 again.

// sched_setscheduler is not in rustix; this module's unsafe is that one call.
#![allow(unsafe_code)]

/// The nice value of the VRRP thread.
pub const VRRP_NICE: i32 = -10;

/// Raises the calling thread (the VRRP event loop) to [`VRRP_NICE`], with children reset
/// to nice 0. Without `CAP_SYS_NICE` it says so and runs on at nice 0.
pub fn raise_vrrp_thread() {
    // SAFETY: `param` lives across the call and is a valid sched_param; pid 0 is the
    // calling thread; SCHED_OTHER takes priority 0.
    let rc = unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_OTHER | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        crate::log::info!("vrrp: scheduling left as it is: cannot set SCHED_RESET_ON_FORK: {e}");
        return;
    }
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
            let child = std::process::Command::new("sh")
                .args(["-c", "cut -d' ' -f19 /proc/self/stat"])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&child.stdout).trim(), "0", "a child inherited the boost");
        })
        .join()
        .unwrap();
    }
}
