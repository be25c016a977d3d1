//! `jisr audit …` and `jisr stats`: argument handling around [`jisr_audit`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use jisr_audit::{PublicKey, SubjectKey};
use jisr_gateway::config::Config;

#[derive(Subcommand)]
pub enum AuditAction {
    /// Check audit files: every hash, the chain of each replica, every checkpoint signature.
    /// Exit 0 when intact and every record is covered by a checkpoint signature; 1 with the
    /// first problem (file:line: kind: detail); 3 when intact but records are not covered by
    /// a signature (a replica with no checkpoint, or records after the last one); 4 when
    /// intact and signed but the gateway recorded that it lost records (`records_dropped`).
    Verify {
        /// Accept `records_dropped` records (they are still reported).
        #[arg(long)]
        allow_dropped: bool,
        /// Accept records after a replica's last checkpoint (a live log): they are checked
        /// only by their hashes, which anyone who can write the files can recompute. A
        /// replica with no checkpoint at all still fails.
        #[arg(long)]
        allow_unsigned_tail: bool,
        /// Take the public key from the gateway's `[audit] signing_key` (on the gateway host).
        #[arg(long, conflicts_with = "public_key")]
        config: Option<PathBuf>,
        /// The checkpoint public key(s), PEM (repeat for keys used over time).
        #[arg(long)]
        public_key: Vec<PathBuf>,
        /// The audit files (`audit-<replica>-<seq>.jsonl`), any order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print one person's records, and every record of the flows they took part in, as
    /// JSON lines. The national id is read from standard input (one line), never from the
    /// command line (where `ps` and shell history would keep it); it is normalised with the
    /// country's identifier rule and turned into the audit reference with the subject key,
    /// and is never written anywhere.
    Find {
        /// The config directory (country profiles and `[audit] subject_key`).
        #[arg(long, default_value = "config", env = "JISR_CONFIG")]
        config: PathBuf,
        /// The country that issued the national id (alpha-2 or alpha-3).
        #[arg(long)]
        country: String,
        /// Read the national id from standard input, one line (the default; there is no
        /// way to give it as an argument).
        #[arg(long)]
        subject_id_stdin: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a new Ed25519 checkpoint signing key (PKCS#8 PEM, mode 0600) and print its
    /// public key (PEM) for auditors.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(action: AuditAction) -> ExitCode {
    let result = match action {
        AuditAction::Verify {
            allow_dropped,
            allow_unsigned_tail,
            config,
            public_key,
            files,
        } => verify(
            config.as_deref(),
            &public_key,
            &files,
            Allow {
                unsigned_tail: allow_unsigned_tail,
                dropped: allow_dropped,
            },
        ),
        AuditAction::Find {
            config,
            country,
            subject_id_stdin: _,
            files,
        } => read_subject_id().and_then(|id| find(&config, &country, &id, &files)),
        AuditAction::Keygen { out } => keygen(&out),
    };
    result.unwrap_or_else(|msg| {
        eprintln!("error: {msg}");
        ExitCode::from(2)
    })
}

fn load(config: &Path) -> Result<Config, String> {
    Config::load(config, &jisr_gateway::config::process_env()).map_err(|problems| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn audit_settings(
    config: &Path,
) -> Result<(Config, jisr_gateway::config::gateway::audit::AuditSettings), String> {
    let config = load(config)?;
    let settings = config
        .audit
        .clone()
        .ok_or("the configuration has no [audit] section")?;
    Ok((config, settings))
}

/// `audit verify`: intact but not fully signed.
const EXIT_UNSIGNED: u8 = 3;
/// `audit verify`: intact and signed, but the gateway lost records.
const EXIT_DROPPED: u8 = 4;

/// What `audit verify` lets pass.
struct Allow {
    unsigned_tail: bool,
    dropped: bool,
}

fn verify(
    config: Option<&Path>,
    keys: &[PathBuf],
    files: &[PathBuf],
    allow: Allow,
) -> Result<ExitCode, String> {
    let keys: Vec<PublicKey> = match config {
        Some(dir) => {
            let (_, s) = audit_settings(dir)?;
            vec![
                jisr_audit::SigningKey::from_pkcs8(&s.signing_key)
                    .map_err(|e| format!("audit.signing_key: {e}"))?
                    .public()
                    .clone(),
            ]
        }
        None if keys.is_empty() => return Err("give --public-key PEM or --config DIR".into()),
        None => keys
            .iter()
            .map(|p| {
                let pem = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
                PublicKey::from_pem(&pem).map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect::<Result<_, _>>()?,
    };
    let report = jisr_audit::verify(files, &keys).map_err(|e| e.to_string())?;
    print!("{report}");
    if !report.intact() {
        return Ok(ExitCode::from(1));
    }
    if let Some(r) = report.unsigned_replicas().next() {
        println!(
            "NOT SIGNED: replica {} has no checkpoint; its records could have been written by anyone who can write the files",
            r.replica
        );
        return Ok(ExitCode::from(EXIT_UNSIGNED));
    }
    let tail: Vec<String> = report
        .replicas
        .iter()
        .filter(|r| r.unsigned_tail > 0)
        .map(|r| format!("{} ({} records)", r.replica, r.unsigned_tail))
        .collect();
    if !tail.is_empty() {
        if !allow.unsigned_tail {
            println!(
                "NOT SIGNED: records after the last checkpoint of {} are covered by no signature and could have been rewritten; verify after a clean shutdown or rotation (which signs the head), or pass --allow-unsigned-tail for a live log",
                tail.join(", ")
            );
            return Ok(ExitCode::from(EXIT_UNSIGNED));
        }
        println!(
            "unsigned tail allowed (--allow-unsigned-tail): the last records of {} are checked by their hashes only, not by a signature",
            tail.join(", ")
        );
    }
    let dropped = report.dropped();
    if dropped > 0 {
        if !allow.dropped {
            println!(
                "RECORDS DROPPED: the gateway lost {dropped} records (see above); the log is not a complete account — pass --allow-dropped to accept this"
            );
            return Ok(ExitCode::from(EXIT_DROPPED));
        }
        println!(
            "records dropped allowed (--allow-dropped): {dropped} records are missing from the account"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The national id: one line of standard input (a prompt on stderr when it is a terminal).
fn read_subject_id() -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("national id: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the national id from stdin: {e}"))?;
    let id = line.trim_end_matches(['\n', '\r']);
    if id.trim().is_empty() {
        return Err("give the national id on standard input (one line)".into());
    }
    Ok(id.to_owned())
}

fn find(config: &Path, country: &str, id: &str, files: &[PathBuf]) -> Result<ExitCode, String> {
    let country: jisr_mapping::CountryCode =
        country.parse().map_err(|e| format!("--country: {e}"))?;
    let (config, settings) = audit_settings(config)?;
    let profile = config
        .mapping
        .profile(country)
        .ok_or_else(|| format!("--country: no profile for {country} in the configuration"))?;
    let normalised = profile
        .identifier
        .normalise(id)
        .map_err(|e| format!("the national id (stdin): not a valid {country} national id: {e}"))?;
    let key =
        SubjectKey::new(&settings.subject_key).map_err(|e| format!("audit.subject_key: {e}"))?;
    let reference = key.reference(country.as_str(), &normalised);
    let found = jisr_audit::find(files, &reference).map_err(|e| e.to_string())?;
    for record in &found.records {
        println!("{}", record.text);
    }
    warn_unreadable(found.unreadable);
    eprintln!(
        "{} records (subject reference {reference})",
        found.records.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn keygen(out: &Path) -> Result<ExitCode, String> {
    let pem = jisr_audit::SigningKey::generate_pem().map_err(|e| e.to_string())?;
    let public = jisr_audit::SigningKey::from_pkcs8(pem.as_bytes())
        .map_err(|e| e.to_string())?
        .public()
        .clone();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, pem.as_bytes()))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    print!("{}", public.to_pem());
    eprintln!(
        "kid {}: signing key written to {}; give the public key above to auditors",
        public.kid(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Lines that are not records were skipped: say so, the answer may be incomplete.
fn warn_unreadable(n: usize) {
    if n > 0 {
        let what = if n == 1 {
            "line is not an audit record and was"
        } else {
            "lines are not audit records and were"
        };
        eprintln!(
            "warning: {n} {what} skipped; the result may be incomplete (`jisr audit verify` names them)"
        );
    }
}

/// `jisr stats`.
pub fn stats(from: &str, to: &str, min_count: u64, format: &str, files: &[PathBuf]) -> ExitCode {
    let date = |flag: &str, v: &str| {
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| format!("{flag}: expected YYYY-MM-DD"))
    };
    let result = (|| {
        let (from, to) = (date("--from", from)?, date("--to", to)?);
        let stats = jisr_audit::stats(files, from, to, min_count).map_err(|e| e.to_string())?;
        warn_unreadable(stats.unreadable);
        match format {
            "csv" => print!("{}", stats.to_csv()),
            "json" => println!("{}", stats.to_json()),
            other => return Err(format!("--format: `{other}`: csv or json")),
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
