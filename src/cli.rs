//! The command line: `run`, `check-config`, `status`, `rpcd`, `digest`, `import`, `version`.

use crate::config::{self, print, Host, Outcome, Severity};
use crate::json::Json;
use crate::limits;
use crate::log::{self, Logger};
use crate::status::{client, locate, reply, rpcd, table};
use argh::FromArgs;

#[derive(FromArgs)]
/// keeplite: VRRP failover, IPVS programming and health checks for routers and appliances.
struct Args {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Run(Run),
    CheckConfig(CheckConfig),
    Status(Status),
    Subscribe(Subscribe),
    Rpcd(Rpcd),
    Digest(Digest),
    Import(Import),
    Version(Version),
}

#[derive(FromArgs)]
/// Run the daemon.
#[argh(subcommand, name = "run")]
struct Run {
    /// configuration file (default /etc/config/keeplite if it exists, else /etc/keeplite.conf)
    #[argh(option, short = 'f')]
    file: Option<String>,
    /// log to syslog (/dev/log) instead of stderr
    #[argh(switch)]
    syslog: bool,
}

#[derive(FromArgs)]
/// Validate a configuration file and print the effective configuration.
#[argh(subcommand, name = "check-config")]
struct CheckConfig {
    /// configuration file (default /etc/config/keeplite if it exists, else /etc/keeplite.conf)
    #[argh(option, short = 'f')]
    file: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    json: bool,
    /// print the effective configuration in native UCI form instead of flat form
    #[argh(switch)]
    uci: bool,
}

#[derive(FromArgs)]
/// Print the running daemon's events (VRRP transitions, health, quorum, IPVS writes) as
/// JSON lines, as they happen, until it stops.
#[argh(subcommand, name = "subscribe")]
struct Subscribe {
    /// status socket (default: global.status_socket of the configuration file, else /var/run/keeplite/status.sock)
    #[argh(option, short = 's')]
    socket: Option<String>,
    /// configuration file to take the status socket from (default: run's, /etc/config/keeplite if it exists, else /etc/keeplite.conf)
    #[argh(option, short = 'f')]
    file: Option<String>,
}

#[derive(FromArgs)]
/// Show the running daemon's VRRP instances, virtual services and real servers.
#[argh(subcommand, name = "status")]
struct Status {
    /// print the daemon's JSON reply (one line) instead of tables
    #[argh(switch)]
    json: bool,
    /// status socket (default: global.status_socket of the configuration file, else /var/run/keeplite/status.sock)
    #[argh(option, short = 's')]
    socket: Option<String>,
    /// configuration file to take the status socket from (default: run's, /etc/config/keeplite if it exists, else /etc/keeplite.conf)
    #[argh(option, short = 'f')]
    file: Option<String>,
}

#[derive(FromArgs)]
/// OpenWrt rpcd exec plugin: `list` the methods, or `call` one with JSON params on stdin.
#[argh(subcommand, name = "rpcd")]
struct Rpcd {
    #[argh(subcommand)]
    action: RpcdAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum RpcdAction {
    List(RpcdList),
    Call(RpcdCall),
}

#[derive(FromArgs)]
/// Print the methods and their parameter types as rpcd expects them.
#[argh(subcommand, name = "list")]
struct RpcdList {}

#[derive(FromArgs)]
/// Call a method with the JSON object on stdin as its parameters; print the reply.
#[argh(subcommand, name = "call")]
struct RpcdCall {
    /// the method: status, vrrp, virtual_servers, counters, reload, drain, ...
    #[argh(positional)]
    method: String,
    /// status socket (default: global.status_socket of the configuration file, else /var/run/keeplite/status.sock)
    #[argh(option, short = 's')]
    socket: Option<String>,
    /// configuration file to take the status socket from (default: run's, /etc/config/keeplite if it exists, else /etc/keeplite.conf)
    #[argh(option, short = 'f')]
    file: Option<String>,
}

#[derive(FromArgs)]
/// Print the MD5 digest of a page's body, as an http check's `digest` option takes it.
#[argh(subcommand, name = "digest")]
struct Digest {
    /// the page: http://host[:port]/path
    #[argh(positional)]
    url: String,
    /// source address to fetch from
    #[argh(option)]
    bind: Option<std::net::IpAddr>,
    /// give up after this many seconds (default 5)
    #[argh(option, default = "5")]
    timeout: u64,
}

#[derive(FromArgs)]
/// Print a keepalived configuration as keeplite configuration; report on stderr what it cannot carry over.
#[argh(subcommand, name = "import")]
struct Import {
    /// keepalived's configuration file (default /etc/keepalived/keepalived.conf)
    #[argh(option, short = 'f')]
    file: Option<String>,
    /// print native UCI form instead of flat form
    #[argh(switch)]
    uci: bool,
    /// configuration id for keepalived's @ lines and ${_INSTANCE}, as keepalived's -i (default: the host name up to its first dot)
    #[argh(option)]
    instance: Option<String>,
}

#[derive(FromArgs)]
/// Print the version, enabled features and capacity limits.
#[argh(subcommand, name = "version")]
struct Version {}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let args = parse_args();
    match args.command {
        Command::Run(r) => run(&r),
        Command::CheckConfig(c) => check_config(&c),
        Command::Status(s) => status(&s),
        Command::Subscribe(s) => subscribe(&s),
        Command::Rpcd(r) => rpcd(&r),
        Command::Digest(d) => digest(&d),
        Command::Import(i) => import(&i),
        Command::Version(_) => version(),
    }
}

/// The arguments, as `argh::from_env` reads them, except that `list` and `call` as the
/// first argument mean `rpcd list` and `rpcd call`: rpcd runs its plugins as
/// `/usr/libexec/rpcd/keeplite list`, and that path is a symlink to this binary.
fn parse_args() -> Args {
    let mut strings: Vec<String> = std::env::args_os().map(|s| s.to_string_lossy().into_owned()).collect();
    if matches!(strings.get(1).map(String::as_str), Some("list" | "call")) {
        strings.insert(1, "rpcd".to_owned());
    }
    let name = strings.first().map_or("keeplite", |s| s.rsplit('/').next().unwrap_or(s));
    let strs: Vec<&str> = strings.iter().skip(1).map(String::as_str).collect();
    Args::from_args(&[name], &strs).unwrap_or_else(|exit| {
        std::process::exit(match exit.status {
            Ok(()) => {
                println!("{}", exit.output);
                0
            }
            Err(()) => {
                eprintln!("{}\nRun {name} --help for more information.", exit.output);
                1
            }
        })
    })
}

/// Facts about this machine that configuration defaults need.
///
/// The hostname becomes defaults (`router_id`, `smtp_helo_name`, the `smtp_from` domain)
/// that must read back as valid, so characters a DNS name cannot hold become `-`.
fn host() -> Host {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    Host { hostname: dns_safe(raw.trim()) }
}

/// `name` with every character a DNS label cannot hold replaced by `-`; `localhost` when
/// nothing usable is left.
fn dns_safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '-' || c == '.');
    if config::value::is_host(cleaned) {
        cleaned.to_owned()
    } else {
        "localhost".to_owned()
    }
}

/// Prints every problem of `outcome` to stderr as `FILE:LINE: ...`.
fn report(file: &str, outcome: &Outcome) {
    for p in &outcome.problems {
        eprintln!("{}", p.render(file));
    }
    if outcome.unreported > 0 {
        eprintln!("{file}: {} more problems not shown", outcome.unreported);
    }
}

fn check_config(args: &CheckConfig) -> i32 {
    let file = args.file.as_deref().unwrap_or_else(|| config::default_file());
    let outcome = match config::load(file, &host()) {
        Ok(o) => o,
        Err(e) => {
            if args.json {
                // The same shape as a file with errors: one error, on no line.
                let error = Json::object([
                    ("line", Json::Null),
                    ("section", Json::Null),
                    ("option", Json::Null),
                    ("message", Json::str(&e)),
                    ("expected", Json::Null),
                    ("text", Json::str(&e)),
                ]);
                let fields = [
                    ("file", Json::str(file)),
                    ("valid", Json::Bool(false)),
                    ("form", Json::Null),
                    ("errors", Json::Array(vec![error])),
                    ("warnings", Json::Array(vec![])),
                ];
                println!("{}", Json::object(fields));
            } else {
                eprintln!("{e}");
            }
            return 1;
        }
    };
    if args.json {
        println!("{}", outcome_json(file, &outcome));
    } else {
        report(file, &outcome);
        if let Some(c) = &outcome.config {
            let doc = print::effective(c);
            print!("{}", if args.uci { print::uci(&doc) } else { print::flat(&doc) });
        }
    }
    i32::from(!outcome.is_ok())
}

fn outcome_json(file: &str, outcome: &Outcome) -> Json {
    let problems = |severity: Severity| {
        Json::Array(
            outcome
                .problems
                .iter()
                .filter(|p| p.severity == severity)
                .map(|p| {
                    Json::object([
                        ("line", Json::Int(i64::from(p.line))),
                        ("section", Json::opt_str(p.section.as_deref())),
                        ("option", Json::opt_str(p.option.as_deref())),
                        ("message", Json::str(&p.message)),
                        ("expected", Json::opt_str(p.expected.as_deref())),
                        ("text", Json::str(p.render(file))),
                    ])
                })
                .collect(),
        )
    };
    let mut fields = vec![
        ("file", Json::str(file)),
        ("valid", Json::Bool(outcome.is_ok())),
        ("form", Json::str(if outcome.form == config::Form::Uci { "uci" } else { "flat" })),
        ("errors", problems(Severity::Error)),
        ("warnings", problems(Severity::Warning)),
    ];
    if let Some(c) = &outcome.config {
        fields.push(("sections", print::json(&print::effective(c))));
    }
    Json::object(fields)
}

fn run(args: &Run) -> i32 {
    let file = args.file.as_deref().unwrap_or_else(|| config::default_file());
    let outcome = match config::load(file, &host()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    report(file, &outcome);
    let Some(config) = outcome.config else {
        eprintln!("{file}: configuration not loaded; nothing started");
        return 1;
    };
    let level = config.global.log_level;
    if args.syslog {
        match Logger::syslog(level, "/dev/log") {
            Ok(l) => log::install(l),
            Err(e) => {
                eprintln!("cannot log to /dev/log: {e}");
                return 1;
            }
        }
    } else {
        log::install(Logger::stderr(level));
    }
    log::info!("configuration {file} loaded");
    let reload = || {
        let outcome = config::load(file, &host())?;
        let problems = outcome.problems.iter().map(|p| p.render(file));
        match outcome.config {
            Some(config) => {
                problems.for_each(|p| log::info!("reload: {p}"));
                Ok(config)
            }
            None => Err(problems.collect::<Vec<_>>().join("; ")),
        }
    };
    crate::daemon::run(&config, &reload)
}

fn subscribe(args: &Subscribe) -> i32 {
    use std::io::Write;
    let streamed = locate::find(args.socket.as_deref(), args.file.as_deref(), &host()).and_then(|socket| {
        let mut out = std::io::stdout().lock();
        socket.subscribe(|line| writeln!(out, "{line}").and_then(|()| out.flush()))
    });
    match streamed {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("keeplite: {e}");
            1
        }
    }
}

fn status(args: &Status) -> i32 {
    let reply = locate::find(args.socket.as_deref(), args.file.as_deref(), &host())
        .and_then(|socket| socket.call("status", None, client::TIMEOUT));
    match reply {
        Ok(r) if args.json => {
            println!("{r}");
            i32::from(!reply::is_ok(&r))
        }
        Ok(r) if reply::is_ok(&r) => {
            print!("{}", table::render(&r));
            0
        }
        Ok(r) => {
            eprintln!(
                "keeplite: {}",
                reply::error_text(&r).unwrap_or("the daemon said no, without a reason")
            );
            1
        }
        Err(e) => {
            eprintln!("keeplite: {e}");
            1
        }
    }
}

fn rpcd(args: &Rpcd) -> i32 {
    let call = match &args.action {
        RpcdAction::List(_) => {
            println!("{}", rpcd::list());
            return 0;
        }
        RpcdAction::Call(call) => call,
    };
    // rpcd relays only a JSON object: failures are printed as one too.
    // rpcd gives no -s nor -f: the socket comes from the default configuration file.
    let (reply, ok) = match locate::find(call.socket.as_deref(), call.file.as_deref(), &host()) {
        Ok(socket) => {
            use std::io::IsTerminal;
            let stdin = std::io::stdin();
            let terminal = stdin.is_terminal();
            rpcd::call(&socket, &call.method, stdin.lock(), terminal)
        }
        Err(e) => (reply::error(e), false),
    };
    println!("{reply}");
    i32::from(!ok)
}

fn digest(args: &Digest) -> i32 {
    let timeout = std::time::Duration::from_secs(args.timeout.max(1));
    match crate::check::digest::digest(&args.url, args.bind, timeout) {
        Ok(hex) => {
            println!("{hex}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// Prints the converted configuration (even when something is reported) and the reports;
/// 1 when anything was reported or the file cannot be read.
fn import(args: &Import) -> i32 {
    use crate::import::{self, files::Disk};
    let file = args.file.as_deref().unwrap_or("/etc/keepalived/keepalived.conf");
    let instance = args.instance.clone().unwrap_or_else(|| {
        import::default_instance(&std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default())
    });
    let files = Disk { max_bytes: import::reader::FILE_BYTES };
    match import::import(file, &instance, &files) {
        Ok(done) => {
            let doc = done.output.document();
            print!("{}", if args.uci { print::uci(&doc) } else { print::flat(&doc) });
            for r in &done.reports {
                eprintln!("{r}");
            }
            i32::from(!done.reports.is_empty())
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn version() -> i32 {
    println!("keeplite {}", env!("CARGO_PKG_VERSION"));
    let features: Vec<&str> = [cfg!(feature = "tls").then_some("tls")].into_iter().flatten().collect();
    println!("features: {}", if features.is_empty() { "none".to_owned() } else { features.join(" ") });
    println!("limits:");
    for (name, value) in limits::ALL {
        println!("  {name:<34}{value}");
    }
    0
}

#[cfg(test)]
mod tests {
    use super::dns_safe;

    #[test]
    fn hostnames_become_valid_defaults() {
        assert_eq!(dns_safe("edge-a"), "edge-a");
        assert_eq!(dns_safe("my_host"), "my-host");
        assert_eq!(dns_safe("_"), "localhost");
        assert_eq!(dns_safe(""), "localhost");
    }
}
