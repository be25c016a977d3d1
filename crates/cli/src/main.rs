//! `jisr`: the one binary. Argument handling only; the work happens in the library crates.
#![forbid(unsafe_code)]

mod audit;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jisr_gateway::config::{MappingConfig, load_country_file, load_policy};
use jisr_mapping::{
    AuthContext, ConfigProblem, CountryCode, Destination, Gcc, NationalClaims, PairwiseKey,
    map_claims,
};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "jisr",
    version,
    about = "Jisr cross-border digital identity gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Write a new PKCS#8 PEM signing key (mode 0600) named after its kid; add it to
    /// `keys.files` in gateway.toml to publish it, then make it `keys.active` to sign with it.
    Generate {
        /// ES256 (default), RS256, PS256 or EdDSA. RS256 and PS256 make an RSA 2048 key;
        /// an RS256 one is named in `keys.algs` (an RSA key signs PS256 otherwise).
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Directory to write the key into (must exist).
        #[arg(long, default_value = "keys")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway, a development national IdP for each GCC state and a demo agency in
    /// one process (in-memory store, generated keys, synthetic citizens).
    #[cfg(feature = "demo")]
    Demo {
        /// The gateway's port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The demo agency's port on 127.0.0.1.
        #[arg(long, default_value_t = 8081)]
        agency_port: u16,
        /// A second demo agency (same country, another ministry) on 127.0.0.1, for single
        /// sign-on between agencies.
        #[arg(long, default_value_t = 8082)]
        second_agency_port: u16,
        /// The gateway's admin listener (metrics, operator dashboard) on 127.0.0.1.
        #[arg(long, default_value_t = 8090)]
        admin_port: u16,
        /// The demo agency's country (citizens of the other five states sign in to it).
        #[arg(long, default_value = "BH")]
        agency_country: String,
        /// A redirect URI of your own OIDC client, registered as `my-oidc-client` (repeat
        /// for several; http only on localhost/127.0.0.1). Its secret is printed at start.
        #[arg(long = "redirect-uri", default_values = ["http://localhost:3000/callback", "http://127.0.0.1:3000/callback"])]
        redirect_uris: Vec<String>,
    },
    /// Run the gateway from its configuration (gateway.toml and the files it names).
    Serve {
        /// The config directory or its gateway.toml.
        #[arg(long, default_value = "config", env = "JISR_CONFIG")]
        config: PathBuf,
    },
    /// Manage the gateway's signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Validate the whole configuration: gateway.toml, agencies, country profiles, policy.
    ///
    /// Prints each problem as `file: key: problem` and exits 1 if there is any.
    CheckConfig {
        /// The config directory (with countries/ and policy.toml), or one profile or policy file.
        #[arg(long, default_value = "config", env = "JISR_CONFIG")]
        config: PathBuf,
    },
    /// Dry-run a mapping: national claims in, shared assertion JSON out (exit 2 on refusal).
    Map {
        /// The authenticating country (alpha-2 or alpha-3).
        #[arg(long)]
        country: String,
        /// JSON file: {"id_token": {…}, "userinfo": {…}} with the national IdP's verified claims.
        #[arg(long)]
        claims: PathBuf,
        /// The agency's country; defaults to the first GCC state other than the origin.
        #[arg(long)]
        destination: Option<String>,
        /// The agency's sector, for pairwise identifiers.
        #[arg(long, default_value = "demo")]
        sector: String,
        /// The national acr value; defaults to the ID token's `acr` claim.
        #[arg(long)]
        acr: Option<String>,
        /// The config directory.
        #[arg(long, default_value = "config", env = "JISR_CONFIG")]
        config: PathBuf,
        /// File with the pairwise key (at least 32 bytes). Without it a random key is used
        /// and pseudonyms differ on every run.
        #[arg(long, env = "JISR_PAIRWISE_KEY_FILE")]
        pairwise_key_file: Option<PathBuf>,
    },
    /// The audit log: verify its integrity, find a person's records, make a signing key.
    Audit {
        #[command(subcommand)]
        action: audit::AuditAction,
    },
    /// Statistics from audit files: completed logins per month, origin, destination and
    /// sector, and refusals per month and reason. Counts under --min-count are withheld.
    Stats {
        /// First day (UTC), YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day (UTC, inclusive), YYYY-MM-DD.
        #[arg(long)]
        to: String,
        #[arg(long, default_value_t = 10)]
        min_count: u64,
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run one development national IdP (synthetic citizens, fault switches) on 127.0.0.1.
    #[cfg(feature = "demo")]
    Devidp {
        /// Which country's national IdP to play (alpha-2 or alpha-3).
        #[arg(long)]
        country: String,
        #[arg(long, default_value_t = 9101)]
        port: u16,
        /// RS256, PS256, ES256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        #[cfg(feature = "demo")]
        Command::Devidp { country, port, alg } => run_devidp(&country, port, &alg),
        #[cfg(feature = "demo")]
        Command::Demo {
            port,
            agency_port,
            second_agency_port,
            admin_port,
            agency_country,
            redirect_uris,
        } => run_demo(
            port,
            (agency_port, second_agency_port),
            admin_port,
            &agency_country,
            redirect_uris,
        ),
        Command::Serve { config } => run_serve(&config),
        Command::Audit { action } => audit::run(action),
        Command::Stats {
            from,
            to,
            min_count,
            format,
            files,
        } => audit::stats(&from, &to, min_count, &format, &files),
        Command::Keys {
            action: KeysAction::Generate { alg, out },
        } => keys_generate(&alg, &out),
        Command::CheckConfig { config } => check_config(&config),
        Command::Map {
            country,
            claims,
            destination,
            sector,
            acr,
            config,
            pairwise_key_file,
        } => match run_map(MapArgs {
            country,
            claims,
            destination,
            sector,
            acr,
            config,
            pairwise_key_file,
        }) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("error: {msg}");
                ExitCode::from(2)
            }
        },
    }
}

fn check_config(path: &Path) -> ExitCode {
    use jisr_gateway::config::{self, agencies::Agencies};
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let result: Result<String, Vec<ConfigProblem>> = if path.is_dir() || name == "gateway.toml" {
        // The loader `serve` uses; deployment material absent here is a note, not an error.
        config::check(path, &config::process_env()).map(|report| {
            for p in &report.absent {
                eprintln!(
                    "note: {}: {}: {} (not on this machine; `jisr serve` needs it)",
                    p.file, p.key, p.problem
                );
            }
            report.summary()
        })
    } else if name == "agencies.toml" {
        Agencies::check(path).map(|n| format!("ok: {n} agencies"))
    } else if name == "policy.toml" {
        load_policy(path)
            .map(|p| format!("ok: policy with {} rules", p.rules().len()))
            .map_err(|p| vec![p])
    } else {
        load_country_file(path)
            .map(|c| format!("ok: country profile for {}", c.profile.country))
            .map_err(|p| vec![p])
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                println!("{p}");
            }
            eprintln!("{} problem(s) found", problems.len());
            ExitCode::from(1)
        }
    }
}

struct MapArgs {
    country: String,
    claims: PathBuf,
    destination: Option<String>,
    sector: String,
    acr: Option<String>,
    config: PathBuf,
    pairwise_key_file: Option<PathBuf>,
}

fn run_map(args: MapArgs) -> Result<String, String> {
    let country = parse_country("--country", &args.country)?;
    let destination = match &args.destination {
        Some(d) => parse_country("--destination", d)?,
        None => Gcc::ALL
            .into_iter()
            .map(Gcc::code)
            .find(|c| *c != country)
            .ok_or("--destination: no GCC state other than the origin")?,
    };
    let config = MappingConfig::load_dir(&args.config).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        format!(
            "configuration is invalid (run `jisr check-config`):\n{}",
            lines.join("\n")
        )
    })?;
    let profile = config.profile(country).ok_or_else(|| {
        format!(
            "no country profile for {country} in {}",
            args.config.display()
        )
    })?;

    let text = std::fs::read_to_string(&args.claims)
        .map_err(|e| format!("cannot read claims file {}: {e}", args.claims.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("claims file {} is not JSON: {e}", args.claims.display()))?;
    let claims = NationalClaims::from_value(value).map_err(|e| e.to_string())?;

    let id_token = claims.id_token.as_ref();
    let id_str = |k: &str| {
        id_token
            .and_then(|t| t.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    // As the gateway reads a verified ID token; a dry run without one is authenticated now.
    let mut ctx = match id_token {
        Some(claims) => {
            jisr_gateway::upstream::flow::context_of(&id_str("iss").unwrap_or_default(), claims)
        }
        None => AuthContext {
            issuer: String::new(),
            acr: None,
            amr: Vec::new(),
            auth_time: Some(now()),
        },
    };
    if ctx.issuer.is_empty() {
        ctx.issuer = format!("urn:jisr:dry-run:{country}");
    }
    if args.acr.is_some() {
        ctx.acr = args.acr;
    }
    let key = pairwise_key(args.pairwise_key_file.as_deref())?;
    let dest = Destination {
        country: destination,
        sector: args.sector,
    };
    let mapped = map_claims(profile, &config.policy, &claims, &ctx, &dest, &key)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "rule {}: consent {}; released: {}",
        mapped.rule,
        if mapped.consent_required {
            "required"
        } else {
            "not required"
        },
        mapped
            .released
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    serde_json::to_string_pretty(&mapped.assertion).map_err(|e| e.to_string())
}

#[cfg(feature = "demo")]
fn run_devidp(country: &str, port: u16, alg: &str) -> ExitCode {
    let parsed = parse_country("--country", country).and_then(|c| {
        let alg = alg
            .parse::<jisr_devidp::SigningAlg>()
            .map_err(|e| format!("--alg: {e}"))?;
        c.gcc()
            .map(|_| (c, alg))
            .ok_or_else(|| format!("--country: {c} is not a GCC member state"))
    });
    let (country, alg) = match parsed {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let result = runtime().and_then(|rt| rt.block_on(jisr_devidp::serve(country, port, alg)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(feature = "demo")]
fn run_demo(
    port: u16,
    (agency_port, second_agency_port): (u16, u16),
    admin_port: u16,
    agency_country: &str,
    redirect_uris: Vec<String>,
) -> ExitCode {
    let country = match parse_country("--agency-country", agency_country).and_then(|c| {
        c.gcc()
            .map(|_| c)
            .ok_or_else(|| format!("--agency-country: {c} is not a GCC member state"))
    }) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let options = jisr_demo::DemoOptions {
        gateway_port: port,
        agency_port,
        second_agency_port: Some(second_agency_port),
        admin_port,
        agency_country: country,
        audit_dir: Some(demo_audit_dir()),
        own_client_redirect_uris: redirect_uris,
        ..Default::default()
    };
    match runtime().and_then(|rt| rt.block_on(jisr_demo::run(options))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `./jisr-demo-audit`, or the same under the temp dir when the current one is read-only.
#[cfg(feature = "demo")]
fn demo_audit_dir() -> PathBuf {
    let here = PathBuf::from("jisr-demo-audit");
    match std::fs::create_dir_all(&here) {
        Ok(()) => here,
        Err(_) => std::env::temp_dir().join("jisr-demo-audit"),
    }
}

fn run_serve(config: &Path) -> ExitCode {
    init_logging();
    let vars = jisr_gateway::config::process_env();
    match runtime()
        .map_err(jisr_gateway::serve::ServeError::from)
        .and_then(|rt| rt.block_on(jisr_gateway::serve::serve(config, vars)))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn keys_generate(alg: &str, out: &Path) -> ExitCode {
    use jisr_gateway::provider::keys::{generate_key_file, signing_alg};
    let result = signing_alg(alg)
        .and_then(|alg| generate_key_file(alg, out).map(|(path, kid)| (alg, path, kid)))
        .map_err(|e| e.to_string());
    match result {
        Ok((alg, path, kid)) => {
            println!("{}", path.display());
            if alg == jisr_gateway::provider::keys::SigningAlg::RS256 {
                eprintln!(
                    "kid {kid}: add the file to keys.files and `\"{kid}\" = \"RS256\"` to \
                     keys.algs in gateway.toml"
                );
            } else {
                eprintln!("kid {kid}: add the file to keys.files in gateway.toml");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Log lines never carry personal data.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn parse_country(flag: &str, value: &str) -> Result<CountryCode, String> {
    value.parse().map_err(|e| {
        format!(
            "{flag}: `{}` {e}",
            value.chars().take(8).collect::<String>()
        )
    })
}

fn pairwise_key(file: Option<&Path>) -> Result<PairwiseKey, String> {
    match file {
        // Read as gateway.toml's `pairwise_key = { file = … }`: raw bytes, or base64:/hex:.
        Some(path) => {
            use jisr_gateway::config::{SecretSource, decode_key_material};
            let bytes = SecretSource::File(path.to_owned())
                .read(Path::new("."), &|_| None)
                .and_then(decode_key_material)
                .map_err(|e| format!("pairwise key {}: {e}", path.display()))?;
            PairwiseKey::new(bytes).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| format!("no randomness for a pairwise key: {e}"))?;
            eprintln!(
                "note: no --pairwise-key-file; using a random key, so pseudonyms change on every run"
            );
            PairwiseKey::new(bytes.to_vec()).map_err(|e| e.to_string())
        }
    }
}

/// The CLI owns the clock for dry runs without an `auth_time`.
#[allow(clippy::disallowed_methods)]
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
