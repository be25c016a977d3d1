//! The audit log end to end: a full login through the demo with the log on writes the
//! expected events, the files verify, a tampered line is caught, a person's flow is found
//! from their national id, no personal data is in the files, and a failing sink stops or
//! buffers new logins as configured.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jisr_audit::verify::ProblemKind;
use jisr_audit::{PublicKey, SubjectKey};
use jisr_demo::{Demo, DemoOptions};
use jisr_e2e::agency::{request, token, userinfo_at};
use jisr_e2e::browser::{Browser, query};
use jisr_e2e::cc;
use jisr_e2e::demo::start;
use jisr_e2e::signin::sign_in;
use jisr_gateway::app::{Gateway, system_clock};
use jisr_gateway::config::gateway::audit::OnFailure;
use serde_json::Value;

fn files(dir: &Path) -> Vec<PathBuf> {
    jisr_audit::log::replica_files(dir, "demo").unwrap()
}

fn records(files: &[PathBuf]) -> Vec<Value> {
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn public_key(dir: &Path) -> PublicKey {
    PublicKey::from_pem(&std::fs::read(jisr_demo::audit::public_key_path(dir)).unwrap()).unwrap()
}

#[tokio::test]
async fn audit_log_records_a_login_verifies_and_finds_the_citizen_without_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let demo = start(DemoOptions {
        agency_country: cc("BH"),
        audit_dir: Some(dir.clone()),
        ..DemoOptions::default()
    })
    .await;
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let req = request(&demo, &[]);
    let back = sign_in(&demo, &Browser::new(), &req, "SA", citizen.id, "allow").await;
    let code = query(&back)["code"].clone();
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, claims) = userinfo_at(&demo.gateway_url, access).await;
    assert_eq!(status, 200, "{claims}");

    // The flow's events, in order (written now rather than at the next `flush_ms` tick).
    demo.gateway.ops.audit.write_pending();
    let files = files(&dir);
    let all = records(&files);
    let issued = all.iter().find(|r| r["event"] == "code_issued").unwrap();
    let flow = issued["flow"].as_str().unwrap();
    let events: Vec<&str> = all
        .iter()
        .filter(|r| r["flow"] == flow)
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "authorization_accepted",
            "country_chosen",
            "national_token_verified",
            "mapped",
            "policy_decision",
            "consent_given",
            "code_issued",
            "code_redeemed",
            "userinfo",
        ]
    );
    assert_eq!(issued["origin"], "SA");
    assert_eq!(issued["destination"], "BH");
    assert_eq!(issued["sector"], "health");
    assert_eq!(issued["client_id"], jisr_demo::AGENCY_CLIENT_ID);
    assert_eq!(issued["outcome"], "ok");

    // Intact, and one altered line is caught at its line.
    let key = public_key(&dir);
    let report = jisr_audit::verify(&files, std::slice::from_ref(&key)).unwrap();
    assert!(report.intact(), "{report}");
    assert_eq!(report.replicas[0].records as usize, all.len());
    let copy = tmp.path().join("tampered.jsonl");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"code_issued\""))
        .unwrap();
    let tampered: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line {
                l.replace("\"destination\":\"BH\"", "\"destination\":\"OM\"")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&copy, tampered.join("\n") + "\n").unwrap();
    let problem = jisr_audit::verify(&[copy], &[key])
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(problem.kind, ProblemKind::Altered);
    assert_eq!(problem.line, line + 1);

    // Find: from the national id as a lawful request gives it, to the flow's records.
    let normalised = demo
        .gateway
        .mapping
        .profile(cc("SA"))
        .unwrap()
        .identifier
        .normalise(citizen.id)
        .unwrap();
    let subject_key = std::fs::read(dir.join("demo-keys/audit-subject.key")).unwrap();
    let reference = SubjectKey::new(&subject_key)
        .unwrap()
        .reference("SA", &normalised);
    assert_eq!(issued["subject"], reference.as_str());
    let found = jisr_audit::find(&files, &reference).unwrap().records;
    let found_events: Vec<&str> = found.iter().map(|r| r.record.event.as_ref()).collect();
    assert_eq!(found_events, events);
    assert!(found.iter().all(|r| r.record.flow.as_deref() == Some(flow)));

    // No personal data and no token anywhere in the files.
    let digits: String = citizen.id.chars().filter(char::is_ascii_digit).collect();
    let canaries = [
        citizen.given_en,
        citizen.given_ar,
        citizen.family_en,
        citizen.family_ar,
        citizen.id,
        &digits,
        &normalised,
        citizen.birthdate,
        citizen.sub,
        &code,
        access,
        tokens["id_token"].as_str().unwrap(),
    ];
    let everything: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for canary in canaries {
        assert!(!everything.contains(canary), "the audit log holds a canary");
    }
}

/// The demo's configuration with its audit log in `dir` under `policy`, served on a free
/// port: the gateway and its base URL.
async fn gateway_logging_to(
    demo: &Demo,
    dir: PathBuf,
    policy: OnFailure,
) -> (Arc<Gateway>, String) {
    let mut config = demo.config().clone();
    let keys = tempfile::tempdir().unwrap();
    let mut audit = jisr_demo::audit::settings(keys.path()).unwrap();
    audit.dir = Some(dir);
    audit.on_failure = policy;
    audit.buffer_records = 2;
    config.audit = Some(audit);
    let gw = Arc::new(
        Gateway::from_config(
            config,
            Arc::new(jisr_store::MemoryStore::default()),
            system_clock(),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(jisr_gateway::http::run(
        listener,
        gw.clone(),
        std::future::pending(),
    ));
    (gw, url)
}

/// `/authorize` at `base`: the status and, for a redirect back to the agency, its `error`.
async fn authorize(demo: &Demo, base: &str) -> (u16, Option<String>) {
    let req = request(demo, &[]);
    let url = req.url.replace(&demo.gateway_url, base);
    let r = Browser::new().get(&url).await;
    let error = r
        .headers()
        .get("location")
        .map(|l| query(l.to_str().unwrap()).get("error").cloned())
        .unwrap_or_default();
    (r.status().as_u16(), error)
}

/// A directory that cannot be created: its parent is a regular file (the tests run as
/// root, so permission bits would not stop a write). Returns it and the blocking file.
fn blocked(tmp: &Path) -> (PathBuf, PathBuf) {
    let file = tmp.join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    (file.join("audit"), file)
}

#[tokio::test]
async fn audit_sink_failing_under_refuse_makes_authorize_temporarily_unavailable() {
    let demo = start(DemoOptions::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, blocker) = blocked(tmp.path());
    let (gw, base) = gateway_logging_to(&demo, dir.clone(), OnFailure::Refuse).await;
    assert!(!gw.ops.audit.accepting());
    let (status, error) = authorize(&demo, &base).await;
    assert_eq!(status, 303);
    assert_eq!(error.as_deref(), Some("temporarily_unavailable"));
    let counters = gw.ops.audit.counters().unwrap();
    assert!(!counters.healthy());
    assert!(counters.failures() >= 1);
    assert_eq!(
        counters.buffered(),
        1,
        "the refusal itself waits for the sink"
    );

    // The sink comes back: the timer writes what waited, logins start again.
    std::fs::remove_file(&blocker).unwrap();
    gw.ops
        .audit
        .spawn_checkpoints(system_clock(), tokio::sync::watch::channel(false).1);
    for _ in 0..30 {
        if gw.ops.audit.accepting() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gw.ops.audit.accepting());
    assert_eq!(authorize(&demo, &base).await.0, 200);
    gw.ops.audit.write_pending();
    let refused = records(&jisr_audit::log::replica_files(&dir, "demo").unwrap());
    assert_eq!(refused[0]["event"], "refused");
    assert_eq!(refused[0]["reason"], "audit_unavailable");
    assert_eq!(refused[0]["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn audit_sink_failing_under_buffer_holds_records_then_refuses_then_recovers() {
    let demo = start(DemoOptions::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, blocker) = blocked(tmp.path());
    let (gw, base) = gateway_logging_to(&demo, dir.clone(), OnFailure::Buffer).await;
    assert!(gw.ops.audit.accepting());
    // Two logins start; their records wait in the buffer of two.
    assert_eq!(authorize(&demo, &base).await.0, 200);
    assert_eq!(authorize(&demo, &base).await.0, 200);
    let counters = gw.ops.audit.counters().unwrap();
    assert_eq!(counters.buffered(), 2);
    assert!(!gw.ops.audit.accepting());
    // The buffer is full: the next login is refused (and its record, with nowhere to go,
    // is counted as lost, loudly).
    let (_, error) = authorize(&demo, &base).await;
    assert_eq!(error.as_deref(), Some("temporarily_unavailable"));
    assert_eq!(counters.dropped(), 1);

    std::fs::remove_file(&blocker).unwrap();
    gw.ops
        .audit
        .spawn_checkpoints(system_clock(), tokio::sync::watch::channel(false).1);
    for _ in 0..30 {
        if gw.ops.audit.accepting() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gw.ops.audit.accepting());
    assert_eq!(counters.buffered(), 0);
    assert_eq!(authorize(&demo, &base).await.0, 200);
    gw.ops.audit.write_pending();
    let files = jisr_audit::log::replica_files(&dir, "demo").unwrap();
    let written = records(&files);
    let events: Vec<&str> = written
        .iter()
        .filter(|r| r["event"] != "checkpoint")
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    // The lost record is told in the chain, before the two that waited.
    assert_eq!(
        events,
        [
            "records_dropped",
            "authorization_accepted",
            "authorization_accepted",
            "authorization_accepted"
        ]
    );
    let lost = written
        .iter()
        .find(|r| r["event"] == "records_dropped")
        .unwrap();
    assert_eq!(lost["dropped"], 1);
    assert_eq!(lost["dropped_from"], lost["dropped_to"]);
}
