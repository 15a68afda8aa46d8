//! The `s3ferry` binary: a thin shell over the library (see `cli`).

fn main() -> std::process::ExitCode {
    s3ferry::cli::main()
}
