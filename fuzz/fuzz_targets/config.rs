//! The configuration loaders on arbitrary files. The first line of an input names the file
//! (`country`, `policy`, `agencies` or `gateway`), the rest is its text: a country file
//! (mapping profile and `[idp]` table), the release policy, `agencies.toml`, `gateway.toml`.
//! Oracle: every problem is reported as `file: key: problem`, never a panic.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use jisr_gateway::config::agencies::Agencies;
use jisr_gateway::config::gateway::GatewayConfig;
use jisr_gateway::config::parse_country_file;
use jisr_mapping::Policy;
use libfuzzer_sys::fuzz_target;

/// A directory of this process's own for the loaders that read files.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("jisr-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
});

fn write(name: &str, text: &str) -> PathBuf {
    let path = DIR.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text: &str = &text;
    let (kind, text) = text.split_once('\n').unwrap_or((&text, ""));
    match kind {
        "country" => {
            if let Err(p) = parse_country_file(Path::new("countries/sa.toml"), text) {
                assert!(p.to_string().starts_with("countries/sa.toml"), "{p}");
            }
        }
        "policy" => {
            if let Err(p) = Policy::from_toml("policy.toml", text) {
                assert!(p.to_string().starts_with("policy.toml"), "{p}");
            }
        }
        "agencies" => {
            let _ = Agencies::check(&write("agencies.toml", text));
        }
        "gateway" => {
            let _ = GatewayConfig::load_with(
                &write("gateway.toml", text),
                Vec::<(String, String)>::new(),
            );
        }
        _ => {}
    }
});
