#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    container_init::app::main()
}
