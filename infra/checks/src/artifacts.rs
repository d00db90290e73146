//! The deployable artifact: what `sam build` must produce for every function in the template, and the check that
//! it did. Each `AWS::Serverless::Function` is built by SAM's `rust-cargolambda` builder from its crate directory
//! (`CodeUri`) and binary name (`Metadata.BuildProperties.Binary`) into `<build dir>/<logical id>/bootstrap`, which
//! must be a 64-bit little-endian Linux executable for the function's architecture (`arm64` everywhere: Graviton
//! is cheaper per GB-second). The ELF header is read here directly (no `file(1)` dependency): `e_machine` is 183
//! for AArch64 and 62 for x86-64.

use serde_json::Value;

use crate::template::{SERVERLESS_FUNCTION, Template};

/// `e_machine` of an AArch64 (arm64) ELF file.
pub const EM_AARCH64: u16 = 183;
/// `e_machine` of an x86-64 ELF file.
pub const EM_X86_64: u16 = 62;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// The fields read here end with `e_machine` at offsets 18–19; a 64-bit header is 64 bytes in all.
const ELF64_HEADER_LEN: usize = 64;

/// Lambda's two instruction set architectures, as the template spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Arm64,
    X86_64,
}

impl Architecture {
    pub fn from_template(name: &str) -> Option<Self> {
        match name {
            "arm64" => Some(Self::Arm64),
            "x86_64" => Some(Self::X86_64),
            _ => None,
        }
    }

    pub fn elf_machine(self) -> u16 {
        match self {
            Self::Arm64 => EM_AARCH64,
            Self::X86_64 => EM_X86_64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Arm64 => "arm64",
            Self::X86_64 => "x86_64",
        }
    }
}

/// What the ELF identification and header say about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfHeader {
    pub is_64_bit: bool,
    pub little_endian: bool,
    /// `e_type`: 2 for a fixed-address executable, 3 for a position-independent one (or a shared library).
    pub file_type: u16,
    pub machine: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    #[error("truncated ELF header: {0} bytes, a 64-bit header has {ELF64_HEADER_LEN}")]
    Truncated(usize),
    #[error("unknown ELF data encoding {0} (1 is little-endian, 2 big-endian)")]
    UnknownEncoding(u8),
    #[error("a 32-bit ELF file; Lambda runs 64-bit executables only")]
    NotSixtyFourBit,
    #[error("big-endian ELF; Lambda's arm64 and x86_64 are little-endian")]
    BigEndian,
    #[error("ELF type {0} is not an executable (2) or a position-independent executable (3)")]
    NotExecutable(u16),
    #[error("ELF machine {found} ({found_name}), expected {expected} ({expected_name})")]
    WrongMachine {
        found: u16,
        found_name: &'static str,
        expected: u16,
        expected_name: &'static str,
    },
}

/// Reads the ELF identification and the `e_type` / `e_machine` fields, in the file's own byte order.
pub fn read_elf_header(bytes: &[u8]) -> Result<ElfHeader, ElfError> {
    if bytes.len() < 4 || &bytes[..4] != ELF_MAGIC {
        return Err(ElfError::NotElf);
    }
    if bytes.len() < ELF64_HEADER_LEN {
        return Err(ElfError::Truncated(bytes.len()));
    }
    let little_endian = match bytes[5] {
        ELFDATA2LSB => true,
        ELFDATA2MSB => false,
        other => return Err(ElfError::UnknownEncoding(other)),
    };
    let half = |at: usize| {
        let pair = [bytes[at], bytes[at + 1]];
        if little_endian {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    };
    Ok(ElfHeader {
        is_64_bit: bytes[4] == ELFCLASS64,
        little_endian,
        file_type: half(16),
        machine: half(18),
    })
}

/// A human name for the `e_machine` values that matter here.
pub fn machine_name(machine: u16) -> &'static str {
    match machine {
        EM_AARCH64 => "AArch64",
        EM_X86_64 => "x86-64",
        3 => "i386",
        40 => "ARM (32-bit)",
        243 => "RISC-V",
        _ => "other",
    }
}

/// Whether `bytes` is an executable Lambda can run on `architecture`.
pub fn check_lambda_executable(bytes: &[u8], architecture: Architecture) -> Result<ElfHeader, ElfError> {
    let header = read_elf_header(bytes)?;
    if !header.is_64_bit {
        return Err(ElfError::NotSixtyFourBit);
    }
    if !header.little_endian {
        return Err(ElfError::BigEndian);
    }
    if header.file_type != ET_EXEC && header.file_type != ET_DYN {
        return Err(ElfError::NotExecutable(header.file_type));
    }
    let expected = architecture.elf_machine();
    if header.machine != expected {
        return Err(ElfError::WrongMachine {
            found: header.machine,
            found_name: machine_name(header.machine),
            expected,
            expected_name: machine_name(expected),
        });
    }
    Ok(header)
}

/// How the template says one function is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionBuild {
    pub logical_id: String,
    /// `Metadata.BuildMethod`.
    pub build_method: Option<String>,
    /// `Metadata.BuildProperties.Binary`: the cargo binary SAM builds and copies as `bootstrap`.
    pub binary: Option<String>,
    /// `Properties.CodeUri` (the crate directory, relative to the template).
    pub code_uri: Option<String>,
    /// `Properties.Architectures`, or the `Globals.Function` default; Lambda's own default is `x86_64`.
    pub architectures: Vec<String>,
}

impl FunctionBuild {
    /// The single architecture the function is built for, when the template names exactly one Lambda knows.
    pub fn architecture(&self) -> Option<Architecture> {
        match self.architectures.as_slice() {
            [one] => Architecture::from_template(one),
            _ => None,
        }
    }
}

/// Every SAM function's build description, sorted by logical id.
pub fn function_builds(template: &Template) -> Vec<FunctionBuild> {
    let global_architectures = &template.root()["Globals"]["Function"]["Architectures"];
    template
        .resources_of_type(SERVERLESS_FUNCTION)
        .into_iter()
        .map(|id| {
            let resource = &template.resources()[id];
            let own_architectures = &resource["Properties"]["Architectures"];
            let architectures = if own_architectures.is_null() {
                global_architectures
            } else {
                own_architectures
            };
            FunctionBuild {
                logical_id: id.to_owned(),
                build_method: text(&resource["Metadata"]["BuildMethod"]),
                binary: text(&resource["Metadata"]["BuildProperties"]["Binary"]),
                code_uri: text(&resource["Properties"]["CodeUri"]),
                architectures: match architectures {
                    Value::Null => vec!["x86_64".to_owned()],
                    Value::Array(items) => items.iter().map(|item| text(item).unwrap_or_default()).collect(),
                    other => vec![text(other).unwrap_or_default()],
                },
            }
        })
        .collect()
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// What is wrong with a function's build description for SAM's `rust-cargolambda` builder, if anything: the
/// builder needs the method and the binary name, the binary must be the crate's own (`CodeUri` ends in it), and
/// the function must run on arm64.
pub fn build_problems(build: &FunctionBuild) -> Vec<String> {
    let mut problems = Vec::new();
    if build.build_method.as_deref() != Some("rust-cargolambda") {
        problems.push(format!(
            "Metadata.BuildMethod is {:?}, not rust-cargolambda",
            build.build_method
        ));
    }
    match (&build.binary, &build.code_uri) {
        (None, _) => problems.push("no Metadata.BuildProperties.Binary".to_owned()),
        (_, None) => problems.push("no CodeUri (the crate directory)".to_owned()),
        (Some(binary), Some(code_uri)) => {
            let crate_dir = code_uri.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            if crate_dir != binary {
                problems.push(format!("Binary {binary:?} is not the crate in CodeUri {code_uri:?}"));
            }
        }
    }
    if build.architecture() != Some(Architecture::Arm64) {
        problems.push(format!("Architectures is {:?}, not [arm64]", build.architectures));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-byte ELF64 header: class, encoding, type and machine set, everything else zero.
    fn header(class: u8, data: u8, file_type: u16, machine: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; ELF64_HEADER_LEN];
        bytes[..4].copy_from_slice(ELF_MAGIC);
        bytes[4] = class;
        bytes[5] = data;
        bytes[6] = 1; // EI_VERSION
        let (t, m) = if data == ELFDATA2MSB {
            (file_type.to_be_bytes(), machine.to_be_bytes())
        } else {
            (file_type.to_le_bytes(), machine.to_le_bytes())
        };
        bytes[16..18].copy_from_slice(&t);
        bytes[18..20].copy_from_slice(&m);
        bytes
    }

    #[test]
    fn an_arm64_executable_passes_for_arm64_only() {
        let arm = header(ELFCLASS64, ELFDATA2LSB, ET_DYN, EM_AARCH64);
        let read = check_lambda_executable(&arm, Architecture::Arm64).expect("arm64");
        assert_eq!(read.machine, 183);
        assert!(check_lambda_executable(&header(ELFCLASS64, ELFDATA2LSB, ET_EXEC, 183), Architecture::Arm64).is_ok());
        assert_eq!(
            check_lambda_executable(&arm, Architecture::X86_64),
            Err(ElfError::WrongMachine {
                found: 183,
                found_name: "AArch64",
                expected: 62,
                expected_name: "x86-64"
            })
        );
    }

    #[test]
    fn an_x86_64_executable_is_refused_for_arm64() {
        let x86 = header(ELFCLASS64, ELFDATA2LSB, ET_DYN, EM_X86_64);
        assert!(check_lambda_executable(&x86, Architecture::X86_64).is_ok());
        assert!(matches!(
            check_lambda_executable(&x86, Architecture::Arm64),
            Err(ElfError::WrongMachine {
                found: 62,
                expected: 183,
                ..
            })
        ));
    }

    #[test]
    fn the_machine_is_read_in_the_files_byte_order() {
        // 183 = 0x00B7: read little-endian from big-endian bytes it would be 0xB700.
        let big = header(ELFCLASS64, ELFDATA2MSB, ET_DYN, EM_AARCH64);
        let read = read_elf_header(&big).expect("header");
        assert_eq!((read.machine, read.little_endian), (183, false));
        assert_eq!(
            check_lambda_executable(&big, Architecture::Arm64),
            Err(ElfError::BigEndian)
        );
        let swapped = {
            let mut bytes = header(ELFCLASS64, ELFDATA2LSB, ET_DYN, 0);
            bytes[18..20].copy_from_slice(&EM_AARCH64.to_be_bytes());
            bytes
        };
        assert!(matches!(
            check_lambda_executable(&swapped, Architecture::Arm64),
            Err(ElfError::WrongMachine { found: 0xB700, .. })
        ));
    }

    #[test]
    fn what_is_not_a_64_bit_executable_is_refused() {
        assert_eq!(read_elf_header(b"#!/bin/sh\necho hello\n"), Err(ElfError::NotElf));
        assert_eq!(read_elf_header(b""), Err(ElfError::NotElf));
        assert_eq!(
            read_elf_header(&header(ELFCLASS64, ELFDATA2LSB, ET_DYN, 183)[..40]),
            Err(ElfError::Truncated(40))
        );
        assert_eq!(
            check_lambda_executable(&header(1, ELFDATA2LSB, ET_EXEC, 40), Architecture::Arm64),
            Err(ElfError::NotSixtyFourBit)
        );
        assert_eq!(
            read_elf_header(&header(ELFCLASS64, 7, ET_DYN, 183)),
            Err(ElfError::UnknownEncoding(7))
        );
        // A relocatable object (e_type 1) for the right machine is still not something Lambda can run.
        assert_eq!(
            check_lambda_executable(&header(ELFCLASS64, ELFDATA2LSB, 1, EM_AARCH64), Architecture::Arm64),
            Err(ElfError::NotExecutable(1))
        );
    }

    #[test]
    fn the_running_test_binary_is_read_like_any_other() {
        // A real file produced by the real toolchain: this test executable, for the host's machine.
        let path = std::env::current_exe().expect("current exe");
        let bytes = std::fs::read(path).expect("read current exe");
        let header = read_elf_header(&bytes).expect("an ELF test binary");
        assert!(header.is_64_bit);
        let expected = if cfg!(target_arch = "aarch64") {
            EM_AARCH64
        } else {
            EM_X86_64
        };
        if cfg!(any(target_arch = "aarch64", target_arch = "x86_64")) {
            assert_eq!(header.machine, expected);
        }
    }

    fn build(method: Option<&str>, binary: Option<&str>, code_uri: &str, arch: &[&str]) -> FunctionBuild {
        FunctionBuild {
            logical_id: "TokenFunction".into(),
            build_method: method.map(str::to_owned),
            binary: binary.map(str::to_owned),
            code_uri: Some(code_uri.to_owned()),
            architectures: arch.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn a_build_description_sam_cannot_use_is_reported() {
        let good = build(
            Some("rust-cargolambda"),
            Some("token"),
            "../functions/token",
            &["arm64"],
        );
        assert!(build_problems(&good).is_empty(), "{:?}", build_problems(&good));
        let cases = [
            build(None, Some("token"), "../functions/token", &["arm64"]),
            build(Some("makefile"), Some("token"), "../functions/token", &["arm64"]),
            build(Some("rust-cargolambda"), None, "../functions/token", &["arm64"]),
            build(Some("rust-cargolambda"), Some("scim"), "../functions/token", &["arm64"]),
            build(
                Some("rust-cargolambda"),
                Some("token"),
                "../functions/token",
                &["x86_64"],
            ),
            build(
                Some("rust-cargolambda"),
                Some("token"),
                "../functions/token",
                &["arm64", "x86_64"],
            ),
        ];
        for case in &cases {
            assert_eq!(build_problems(case).len(), 1, "{case:?}: {:?}", build_problems(case));
        }
    }

    fn committed_builds() -> Vec<FunctionBuild> {
        function_builds(&Template::parse(crate::TEMPLATE_YAML).expect("committed template"))
    }

    #[test]
    fn every_function_of_the_committed_template_is_buildable_by_sam_for_arm64() {
        let builds = committed_builds();
        assert!(!builds.is_empty());
        for build in &builds {
            assert_eq!(build_problems(build), Vec::<String>::new(), "{}", build.logical_id);
        }
    }

    #[test]
    fn every_function_crate_is_deployed_by_the_template() {
        let functions_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
        let mut crates: Vec<String> = std::fs::read_dir(&functions_dir)
            .expect("functions/")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.join("Cargo.toml").is_file())
            .map(|path| path.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        crates.sort();
        let mut binaries: Vec<String> = committed_builds().into_iter().filter_map(|b| b.binary).collect();
        binaries.sort();
        assert_eq!(binaries, crates);
    }

    #[test]
    fn a_function_overriding_the_global_architecture_is_seen() {
        let edited = crate::TEMPLATE_YAML.replacen(
            "      CodeUri: ../functions/scim\n",
            "      CodeUri: ../functions/scim\n      Architectures: [x86_64]\n",
            1,
        );
        assert_ne!(edited, crate::TEMPLATE_YAML, "the scim function's CodeUri line moved");
        let builds = function_builds(&Template::parse(&edited).expect("edited template"));
        let scim = builds
            .iter()
            .find(|b| b.binary.as_deref() == Some("scim"))
            .expect("scim");
        assert_eq!(scim.architecture(), Some(Architecture::X86_64));
        assert_eq!(build_problems(scim).len(), 1);
        let token = builds
            .iter()
            .find(|b| b.binary.as_deref() == Some("token"))
            .expect("token");
        assert_eq!(token.architecture(), Some(Architecture::Arm64));
    }
}
