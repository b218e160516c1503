//! Configurations of the checks tests: one real server per check.

/// One real server named `name` at `addr` checked by a check of the same name, behind a
/// virtual server of its own (a virtual server takes each address and port once).
/// The check's `interval`, `timeout` and `retry_delay` are 500 ms, 400 ms and 200 ms
/// unless `check` sets them.
pub fn real_server(name: &str, addr: &str, port: u16, check: &str) -> String {
    static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(10000);
    let vport = NEXT_PORT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut out = format!(
        "keeplite.vs_{name}=virtual_server\nkeeplite.vs_{name}.address='198.51.100.200'\n\
         keeplite.vs_{name}.port='{vport}'\n\
         keeplite.{name}=real_server\nkeeplite.{name}.virtual_server='vs_{name}'\nkeeplite.{name}.address='{addr}'\n\
         keeplite.{name}.port='{port}'\nkeeplite.{name}.check='c_{name}'\nkeeplite.c_{name}=check\n"
    );
    for (option, default) in [("interval", "500ms"), ("timeout", "400ms"), ("retry_delay", "200ms")] {
        if !check.lines().any(|l| l.starts_with(&format!("{option}="))) {
            out += &format!("keeplite.c_{name}.{option}='{default}'\n");
        }
    }
    for line in check.lines().filter(|l| !l.is_empty()) {
        out += &format!("keeplite.c_{name}.{line}\n");
    }
    out
}
