fn main() -> std::process::ExitCode {
    alice::cli::main()
}
