//! Checks what `sam build` produced: every `AWS::Serverless::Function` of the template has a `bootstrap` in the
//! build directory that is a 64-bit little-endian executable for the function's architecture (read from the ELF
//! header), and prints each one's size — next to the x86_64 release binary of the same function when one exists
//! (the cold-start benchmark builds them), with the ratio.
//!
//! Usage: lambda_artifacts <template.yaml> <sam build dir> [<directory of x86_64 release binaries>]
//! Exits 1 when a function's description, artifact or ELF header is wrong; 2 on bad usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use infra_checks::artifacts::{
    Architecture, EM_X86_64, FunctionBuild, build_problems, check_lambda_executable, function_builds, read_elf_header,
};
use infra_checks::template::Template;

const MIB: f64 = 1024.0 * 1024.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (template_path, build_dir, x86_dir) = match args.as_slice() {
        [template, build] => (template, PathBuf::from(build), None),
        [template, build, x86] => (template, PathBuf::from(build), Some(PathBuf::from(x86))),
        _ => {
            eprintln!("usage: lambda_artifacts <template.yaml> <sam build dir> [<x86_64 release binaries dir>]");
            return ExitCode::from(2);
        }
    };
    let template = match std::fs::read_to_string(template_path)
        .map_err(|e| e.to_string())
        .and_then(|text| Template::parse(&text).map_err(|e| e.to_string()))
    {
        Ok(template) => template,
        Err(error) => {
            eprintln!("lambda artifacts: cannot read {template_path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let builds = function_builds(&template);
    if builds.is_empty() {
        eprintln!("lambda artifacts: {template_path} declares no AWS::Serverless::Function");
        return ExitCode::FAILURE;
    }
    println!(
        "{:<22} {:<13} {:>8} {:>12} {:>12} {:>7}",
        "function", "binary", "arch", "size (MiB)", "x86_64 (MiB)", "ratio"
    );
    let mut failures = 0;
    for build in &builds {
        match check_function(build, &build_dir, x86_dir.as_deref()) {
            Ok(row) => println!("{row}"),
            Err(problem) => {
                failures += 1;
                eprintln!("lambda artifacts: {}: {problem}", build.logical_id);
            }
        }
    }
    if failures > 0 {
        eprintln!("lambda artifacts: {failures} of {} functions failed", builds.len());
        return ExitCode::FAILURE;
    }
    println!(
        "lambda artifacts: {} functions, each with an executable bootstrap for its architecture",
        builds.len()
    );
    ExitCode::SUCCESS
}

/// One function's table row, or what is wrong with it.
fn check_function(build: &FunctionBuild, build_dir: &Path, x86_dir: Option<&Path>) -> Result<String, String> {
    let problems = build_problems(build);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let architecture = build.architecture().unwrap_or(Architecture::Arm64);
    let binary = build.binary.as_deref().unwrap_or_default();
    let path = build_dir.join(&build.logical_id).join("bootstrap");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    check_lambda_executable(&bytes, architecture).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = bytes.len() as u64;
    let x86_size = x86_dir.and_then(|dir| x86_release_size(&dir.join(binary)));
    let (x86_text, ratio_text) = match x86_size {
        Some(x86) => (
            format!("{:.2}", x86 as f64 / MIB),
            format!("{:.2}x", size as f64 / x86 as f64),
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    Ok(format!(
        "{:<22} {:<13} {:>8} {:>12.2} {:>12} {:>7}",
        build.logical_id,
        binary,
        architecture.name(),
        size as f64 / MIB,
        x86_text,
        ratio_text
    ))
}

/// The size of an x86-64 executable at `path`; None when there is none (or it is something else).
fn x86_release_size(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let header = read_elf_header(&bytes).ok()?;
    (header.machine == EM_X86_64).then_some(bytes.len() as u64)
}
