//! The keeplite executable: the command line of [`keeplite::cli`].

fn main() {
    std::process::exit(keeplite::cli::main());
}
