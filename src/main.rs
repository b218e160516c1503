//! keeplite: VRRP, IPVS programming and health checks in one small static binary.

mod cli;
mod config;
mod json;
mod limits;
mod log;

fn main() {
    std::process::exit(cli::main());
}
