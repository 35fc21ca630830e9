//! The field sales log and supervisor review through the real binary
//! (issue 4; PRODUCT.md §1, §6, §7, §10): the role matrix, local days and
//! daylight-saving changes, golden reports in JSON, CSV and HTML, bad input,
//! and the output of `lead add` / `txn add`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers

/// `--actor ID --role ROLE` followed by `args`.
fn as_role<'a>(actor: &'a str, role: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    [&["--actor", actor, "--role", role][..], args].concat()
}

/// Every row of every table, as text, rows sorted: two equal dumps mean the
/// store holds exactly the same data.
fn dump(db: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    (0..columns)
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map(|cells| cells.join(" | "))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}

/// What a denied or refused call must leave unchanged: every table's rows
/// and the number of chained events `verify` checks.
#[derive(Debug, PartialEq)]
struct State {
    tables: BTreeMap<String, Vec<String>>,
    events_checked: u64,
}

fn state(env: &Env) -> State {
    let verify = env.run(&["--json", "verify"]).ok().json();
    assert_eq!(verify["intact"], true, "{verify}");
    State {
        tables: dump(&env.db),
        events_checked: verify["events_checked"].as_u64().unwrap(),
    }
}

/// The JSON error object a failed `--json` call prints on stderr.
#[track_caller]
fn error_kind(run: &Run) -> String {
    let value: Value = serde_json::from_str(run.stderr.trim())
        .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}): {}", run.stderr));
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{value}"
    );
    value["error"]["kind"].as_str().unwrap().to_string()
}

/// Runs `args` with `--json`; expects exit 2 (bad input), an error of
/// `kind` on stderr, nothing on stdout and nothing stored.
#[track_caller]
fn refused_as(env: &Env, kind: &str, args: &[&str]) -> String {
    let before = state(env);
    let run = env.run(&[&["--json"][..], args].concat());
    assert_eq!(
        run.code, 2,
        "{args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    assert_eq!(error_kind(&run), kind, "{args:?}");
    assert_eq!(state(env), before, "{args:?} changed the store");
    run.stderr
}

#[track_caller]
fn refused(env: &Env, args: &[&str]) -> String {
    refused_as(env, "invalid_input", args)
}

/// `lead add` as an admin at `now`; returns the id printed on stdout.
fn add_lead(env: &Env, now: &str, agent: &str, name: &str) -> String {
    lead_as(env, now, "cli", "admin", agent, name)
}

fn lead_as(env: &Env, now: &str, actor: &str, role: &str, agent: &str, name: &str) -> String {
    let run = env
        .run_at(
            now,
            &as_role(
                actor,
                role,
                &["lead", "add", "--agent", agent, "--name", name],
            ),
        )
        .ok();
    run.stdout.trim().to_string()
}

/// `lead update ID --status S` at `now`, by the lead's agent.
fn move_lead(env: &Env, now: &str, agent: &str, id: &str, status: &str) {
    env.run_at(
        now,
        &as_role(agent, "agent", &["lead", "update", id, "--status", status]),
    )
    .ok();
}

/// `txn add --json` at `now`; returns the transaction.
#[allow(clippy::too_many_arguments)]
fn add_txn(
    env: &Env,
    now: &str,
    agent: &str,
    kind: &str,
    amount: &str,
    currency: &str,
    lead: Option<&str>,
    at: Option<&str>,
) -> Value {
    let mut args = vec![
        "--json",
        "txn",
        "add",
        "--agent",
        agent,
        "--kind",
        kind,
        "--policy-number",
        "POL-1",
        "--product",
        "term-life",
        "--amount",
        amount,
        "--currency",
        currency,
    ];
    if let Some(lead) = lead {
        args.extend(["--lead", lead]);
    }
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    env.run_at(now, &args).ok().json()
}

/// `check-in --json` (or `check-out`) with the clock and the fix at `at`.
fn check_at(env: &Env, at: &str, kind: &str, agent: &str, (lat, lon): (&str, &str)) -> Value {
    env.run_at(
        at,
        &[
            "--json",
            kind,
            "--agent",
            agent,
            "--lat",
            lat,
            "--lon",
            lon,
            "--accuracy",
            "10",
        ],
    )
    .ok()
    .json()
}

/// `report attendance --format json` at `now`.
fn attendance(env: &Env, now: &str, from: &str, to: &str, agent: Option<&str>) -> Value {
    let mut args = vec![
        "report",
        "attendance",
        "--from",
        from,
        "--to",
        to,
        "--format",
        "json",
    ];
    if let Some(agent) = agent {
        args.extend(["--agent", agent]);
    }
    env.run_at(now, &args).ok().json()
}

/// The report day of `agent` on `date`.
#[track_caller]
fn day<'a>(report: &'a Value, agent: &str, date: &str) -> &'a Value {
    report["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["agent"] == agent && d["date"] == date)
        .unwrap_or_else(|| panic!("no day {date} of {agent} in {report:#}"))
}

fn dates_of(report: &Value, agent: &str) -> Vec<String> {
    report["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["agent"] == agent)
        .map(|d| d["date"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Role matrix

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// Exit 0.
    Y,
    /// Exit 3, `permission_denied`, nothing changed.
    D,
    /// The column does not apply (the command names no agent).
    NA,
}
use Want::{D, NA, Y};

/// Columns: `own` = agent a1 acting on a1; `other` = agent a1 acting on
/// a2; `spv` = supervisor on a1; `admin` = admin on a1.
///
/// Placeholders: `@A` the target agent, `@LEAD` / `@ENTRY` / `@EVENT` the
/// target agent's lead, location-consent ledger entry and check-in event,
/// `@SITES` a GeoJSON file, `@UNTIL` a flag expiry.
///
/// PRODUCT.md §1: agents act on their own check-ins, consents, leads and
/// transactions and read their own records; supervisors set flags, review
/// and read everyone's reports, leads, transactions and events, but create
/// nothing for agents and manage no sites, shifts or retention; admins may
/// make every call.
const MATRIX: &[(&str, [Want; 4])] = &[
    //  command                                                    own other spv admin
    ("site import @SITES", [D, NA, D, Y]),
    ("site list", [Y, NA, Y, Y]),
    ("site export", [Y, NA, Y, Y]),
    ("consent grant --agent @A --permission push", [Y, D, D, Y]),
    (
        "consent withdraw --agent @A --permission push",
        [Y, D, D, Y],
    ),
    ("consent show --agent @A", [Y, D, Y, Y]),
    ("consent receipt @ENTRY", [Y, D, Y, Y]),
    (
        "check-in --agent @A --lat -6.2146 --lon 106.8229 --accuracy 10",
        [Y, D, D, Y],
    ),
    (
        "check-out --agent @A --lat -6.2146 --lon 106.8229 --accuracy 10",
        [Y, D, D, Y],
    ),
    ("events --agent @A", [Y, D, Y, Y]),
    ("events", [Y, NA, Y, Y]),
    (
        "audit flag --agent @A --purpose audit --reason check --until @UNTIL",
        [D, D, Y, Y],
    ),
    (
        "audit flag --site hq --purpose security --reason check --until @UNTIL",
        [D, NA, Y, Y],
    ),
    (
        "audit flag --everyone --purpose audit --reason check --until @UNTIL",
        [D, NA, Y, Y],
    ),
    ("audit list --agent @A", [Y, D, Y, Y]),
    // Without --agent: every flag, which is for supervisors (§4: an agent
    // lists the flags that cover them).
    ("audit list", [D, NA, Y, Y]),
    ("lead add --agent @A --name Customer", [Y, D, D, Y]),
    ("lead update @LEAD --note called", [Y, D, D, Y]),
    ("lead update @LEAD --status contacted", [Y, D, D, Y]),
    ("lead list --agent @A", [Y, D, Y, Y]),
    ("lead list", [Y, NA, Y, Y]),
    ("lead history @LEAD", [Y, D, Y, Y]),
    (
        "txn add --agent @A --kind premium_payment --policy-number P-9 --product life \
         --amount 100000 --currency IDR",
        [Y, D, D, Y],
    ),
    ("txn list --agent @A", [Y, D, Y, Y]),
    ("txn list", [Y, NA, Y, Y]),
    (
        "shift set --agent @A --start 08:00 --end 17:00 --days mon-fri --tz Asia/Jakarta",
        [D, D, D, Y],
    ),
    // Shifts are not secret within a team: `shift list` has no role check.
    // (Contract doubt reported: an agent sees every colleague's shift.)
    ("shift list", [Y, NA, Y, Y]),
    (
        "report attendance --from 2026-01-05 --to 2026-01-05 --agent @A --format json",
        [Y, D, Y, Y],
    ),
    (
        "report attendance --from 2026-01-05 --to 2026-01-05 --format csv",
        [Y, NA, Y, Y],
    ),
    (
        "report sales --from 2026-01-05 --to 2026-01-05 --agent @A --format json",
        [Y, D, Y, Y],
    ),
    (
        "report sales --from 2026-01-05 --to 2026-01-05 --format html",
        [Y, NA, Y, Y],
    ),
    ("review @EVENT --approve --note fine", [D, D, Y, Y]),
    ("review @EVENT --reject --note wrong", [D, D, Y, Y]),
    ("purge", [D, NA, D, Y]),
    ("verify", [Y, NA, Y, Y]),
];

/// What the matrix's placeholders stand for, per target agent.
struct Target {
    lead: String,
    entry: String,
    event: String,
}

#[test]
fn role_matrix_every_command_by_every_role() {
    let env = Env::new();
    let sites = env.write("sites.geojson", SITES);
    env.run(&["site", "import", sites.to_str().unwrap()]).ok();
    // Consent receipts name the data controller, which an admin sets first.
    env.run(&[
        "settings",
        "controller",
        "--name",
        "PT Contoh Asuransi (example data)",
        "--contact",
        "Data Protection Officer",
        "--email",
        "privacy@example.co.id",
        "--phone",
        "+62 21 555 0100",
        "--address",
        "Jl. Contoh No. 1, Jakarta",
        "--jurisdiction",
        "ID",
        "--policy-url",
        "https://example.co.id/privacy",
    ])
    .ok();
    let mut targets = HashMap::new();
    for agent in ["a1", "a2"] {
        let entry = env
            .run(&[
                "--json",
                "consent",
                "grant",
                "--agent",
                agent,
                "--permission",
                "location",
            ])
            .ok()
            .json();
        let event = env.check("check-in", agent, HQ, "10", &[]);
        assert_eq!(event["accepted"], true, "{event}");
        let lead = add_lead(&env, NOW, agent, "Customer");
        add_txn(&env, NOW, agent, "renewal", "5000", "IDR", None, None);
        targets.insert(
            agent,
            Target {
                lead,
                entry: entry["entry_id"].as_str().unwrap().to_string(),
                event: event["event_id"].as_str().unwrap().to_string(),
            },
        );
    }
    let columns = [
        ("own", "a1", "agent", "a1"),
        ("other", "a1", "agent", "a2"),
        ("spv", "spv", "supervisor", "a1"),
        ("admin", "adm", "admin", "a1"),
    ];

    let mut mismatches = Vec::new();
    let mut denied_cells = 0;
    for (command, wants) in MATRIX {
        for ((column, actor, role, target), want) in columns.iter().zip(wants) {
            if *want == NA {
                continue;
            }
            let t = &targets[target];
            let args: Vec<String> = command
                .split_whitespace()
                .map(|word| match word {
                    "@A" => target.to_string(),
                    "@LEAD" => t.lead.clone(),
                    "@ENTRY" => t.entry.clone(),
                    "@EVENT" => t.event.clone(),
                    "@SITES" => sites.to_str().unwrap().to_string(),
                    "@UNTIL" => "2026-01-20T00:00:00Z".to_string(),
                    other => other.to_string(),
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let full = as_role(actor, role, &[&["--json"][..], &args[..]].concat());
            let before = (*want == D).then(|| state(&env));
            let run = env.run(&full);
            let cell = format!("`{command}` as {column} ({actor}/{role} on {target})");
            match want {
                Y if run.code != 0 => mismatches.push(format!(
                    "{cell}: expected allowed, got exit {}: {}",
                    run.code,
                    run.stderr.trim()
                )),
                D if run.code != 3 => mismatches.push(format!(
                    "{cell}: expected permission_denied, got exit {}: {}{}",
                    run.code,
                    run.stdout.trim(),
                    run.stderr.trim()
                )),
                D => {
                    denied_cells += 1;
                    assert!(run.stdout.is_empty(), "{cell}: {}", run.stdout);
                    assert_eq!(error_kind(&run), "permission_denied", "{cell}");
                    if state(&env) != before.unwrap() {
                        mismatches.push(format!("{cell}: denied but the store changed"));
                    }
                }
                _ => {}
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} cell(s) disagree with PRODUCT.md §1:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(denied_cells >= 30, "{denied_cells}");

    // Agents' reads are scoped to themselves even without --agent.
    let a1 = |args: &[&str]| env.run(&as_role("a1", "agent", args)).ok();
    let own_leads = a1(&["--json", "lead", "list"]).json_lines();
    assert!(!own_leads.is_empty());
    assert!(
        own_leads.iter().all(|l| l["agent"] == "a1"),
        "{own_leads:?}"
    );
    let own_txns = a1(&["--json", "txn", "list"]).json_lines();
    assert!(!own_txns.is_empty());
    assert!(own_txns.iter().all(|t| t["agent"] == "a1"), "{own_txns:?}");
    let own_events = a1(&["--json", "events"]).json_lines();
    assert!(own_events.iter().all(|e| e["agent"] == "a1"));
    let report = a1(&[
        "report",
        "attendance",
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-05",
    ])
    .json();
    assert!(!report["days"].as_array().unwrap().is_empty(), "{report}");
    assert!(
        report["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["agent"] == "a1"),
        "{report}"
    );
    let sales = a1(&[
        "report",
        "sales",
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-05",
    ])
    .json();
    let agents: Vec<&str> = sales["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["a1"], "{sales}");
    // ... while a supervisor reads everyone's.
    let all = env
        .run(&as_role("spv", "supervisor", &["--json", "lead", "list"]))
        .ok()
        .json_lines();
    assert!(all.iter().any(|l| l["agent"] == "a2"));
}

#[test]
fn denied_calls_print_the_typed_error_in_both_output_modes() {
    let env = Env::with_sites_and_consent(&["a1", "a2"]);
    let lead = add_lead(&env, NOW, "a2", "Customer");
    let before = state(&env);
    let args = ["lead", "update", &lead, "--status", "contacted"];
    let human = env.run(&as_role("a1", "agent", &args));
    assert_eq!(human.code, 3, "{}", human.stderr);
    assert!(human.stdout.is_empty());
    assert!(
        human.stderr.starts_with("fieldcheck: permission_denied: "),
        "{}",
        human.stderr
    );
    let json = env.run(&as_role("a1", "agent", &[&["--json"][..], &args].concat()));
    assert_eq!(json.code, 3);
    assert_eq!(error_kind(&json), "permission_denied");
    assert_eq!(state(&env), before);
}

// ---------------------------------------------------------------------------
// 2. Time zones

/// A store with the common sites; `agents` have location consent (given
/// before every fix below) and the shift `start`-`end` on `days` in `tz`.
fn zone_env(agents: &[(&str, &str, &str, &str, &str)]) -> Env {
    let env = Env::new();
    let sites = env.write("sites.geojson", SITES);
    let setup = "2026-01-01T00:00:00Z";
    env.run_at(setup, &["site", "import", sites.to_str().unwrap()])
        .ok();
    for (agent, start, end, days, tz) in agents {
        env.run_at(
            setup,
            &[
                "consent",
                "grant",
                "--agent",
                agent,
                "--permission",
                "location",
            ],
        )
        .ok();
        env.run_at(
            setup,
            &[
                "shift", "set", "--agent", agent, "--start", start, "--end", end, "--days", days,
                "--tz", tz,
            ],
        )
        .ok();
    }
    env
}

#[test]
fn a_check_in_at_2330_utc_counts_for_the_next_local_day_in_indonesia() {
    let env = zone_env(&[
        ("jkt", "08:00", "17:00", "mon-fri", "Asia/Jakarta"),
        ("mks", "08:00", "17:00", "mon-fri", "Asia/Makassar"),
        ("jpr", "08:00", "17:00", "mon-fri", "Asia/Jayapura"),
    ]);
    let shift = env.run(&["--json", "shift", "list"]).ok().json_lines();
    assert_eq!(shift.len(), 3);
    assert_eq!(shift[0]["agent"], "jkt");
    assert_eq!(shift[0]["shift"]["tz"], "Asia/Jakarta");
    assert_eq!(shift[0]["shift"]["days"], "mon-fri");

    // Sunday 2026-01-04 23:30 UTC is Monday 2026-01-05 in all three zones.
    let at = "2026-01-04T23:30:00Z";
    for agent in ["jkt", "mks", "jpr"] {
        assert_eq!(check_at(&env, at, "check-in", agent, HQ)["accepted"], true);
    }
    // The event itself keeps the UTC instant (a Sunday in UTC).
    let events = env.run(&["--json", "events"]).ok().json_lines();
    assert!(
        events
            .iter()
            .all(|e| e["captured_at"] == "2026-01-04T23:30:00Z"),
        "{events:?}"
    );

    let report = attendance(
        &env,
        "2026-01-06T12:00:00Z",
        "2026-01-04",
        "2026-01-05",
        None,
    );
    for (agent, zone, local, status, late) in [
        // WIB = UTC+7: 06:30 local, before 08:00 → on time.
        (
            "jkt",
            "Asia/Jakarta",
            "2026-01-05T06:30:00+07:00",
            "on_time",
            0,
        ),
        // WITA = UTC+8: 07:30 local → on time.
        (
            "mks",
            "Asia/Makassar",
            "2026-01-05T07:30:00+08:00",
            "on_time",
            0,
        ),
        // WIT = UTC+9: 08:30 local; 08:00 + 10 min grace = 08:10 → 20 late.
        (
            "jpr",
            "Asia/Jayapura",
            "2026-01-05T08:30:00+09:00",
            "late",
            20,
        ),
    ] {
        // Nothing on the UTC date (Sunday: no shift, no event).
        assert_eq!(dates_of(&report, agent), ["2026-01-05"], "{agent}");
        let d = day(&report, agent, "2026-01-05");
        assert_eq!(d["time_zone"], zone);
        assert_eq!(d["first_check_in"], local, "{agent}");
        assert_eq!(d["status"], status, "{agent}");
        assert_eq!(d["minutes_late"], late, "{agent}");
        assert_eq!(d["site_id"], "hq");
    }
    let totals = &report["totals"];
    assert_eq!(totals[0]["date"], "2026-01-04");
    assert_eq!(
        (totals[0]["on_time"].as_u64(), totals[0]["late"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        (totals[1]["on_time"].as_u64(), totals[1]["late"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn jakarta_local_midnight_splits_days_and_a_late_check_out_is_missing() {
    let env = zone_env(&[("jkt", "08:00", "17:00", "mon-fri", "Asia/Jakarta")]);
    // Tuesday 2026-01-06 16:59:59 UTC = 23:59:59 WIB, still Tuesday.
    check_at(&env, "2026-01-06T16:59:59Z", "check-in", "jkt", HQ);
    // One second later is 00:00:00 WIB on Wednesday.
    check_at(&env, "2026-01-06T17:00:00Z", "check-out", "jkt", HQ);

    let report = attendance(
        &env,
        "2026-01-08T00:00:00Z",
        "2026-01-06",
        "2026-01-07",
        None,
    );
    let tue = day(&report, "jkt", "2026-01-06");
    assert_eq!(tue["first_check_in"], "2026-01-06T23:59:59+07:00");
    // 23:59:59 − 08:10 = 15 h 49 min 59 s → rounded up: 950 minutes.
    assert_eq!(tue["status"], "late");
    assert_eq!(tue["minutes_late"], 950);
    // The check-out came after the local day ended.
    assert_eq!(tue["last_check_out"], Value::Null);
    assert_eq!(tue["missing_check_out"], true);
    let wed = day(&report, "jkt", "2026-01-07");
    assert_eq!(wed["last_check_out"], "2026-01-07T00:00:00+07:00");
    assert_eq!(wed["first_check_in"], Value::Null);
    // No check-in on a shift day whose start + grace has passed.
    assert_eq!(wed["status"], "absent");
    assert_eq!(wed["missing_check_out"], false);
}

/// Contract doubt made a test: §7 / issue 4 say an open check-in with no
/// check-out *by the end of the local day* is missing. At noon the day has
/// not ended, so a report built then should not yet call it missing.
#[test]
fn an_open_visit_is_not_missing_before_the_local_day_ends() {
    let env = zone_env(&[("jkt", "08:00", "17:00", "mon-fri", "Asia/Jakarta")]);
    // Monday 08:00 WIB.
    check_at(&env, "2026-01-05T01:00:00Z", "check-in", "jkt", HQ);
    // Monday 12:00 WIB: still at work.
    let noon = attendance(
        &env,
        "2026-01-05T05:00:00Z",
        "2026-01-05",
        "2026-01-05",
        None,
    );
    let d = day(&noon, "jkt", "2026-01-05");
    assert_eq!(d["status"], "on_time");
    assert_eq!(
        d["missing_check_out"], false,
        "the local day has not ended: {d:#}"
    );
    // Tuesday 00:00 WIB: now it is missing.
    let next = attendance(
        &env,
        "2026-01-05T17:00:00Z",
        "2026-01-05",
        "2026-01-05",
        None,
    );
    assert_eq!(day(&next, "jkt", "2026-01-05")["missing_check_out"], true);
}

#[test]
fn amsterdam_lateness_across_both_2026_dst_changes() {
    // EU rule: 2026-03-29 01:00 UTC CET (+1) → CEST (+2);
    //          2026-10-25 01:00 UTC CEST (+2) → CET (+1).
    let env = zone_env(&[("nl", "08:00", "17:00", "mon-fri", "Europe/Amsterdam")]);
    // The same UTC times on the working days around each change.
    let fixes = [
        ("2026-03-27T06:30:00Z", "2026-03-27T16:00:00Z"), // Fri, CET
        ("2026-03-30T06:30:00Z", "2026-03-30T16:00:00Z"), // Mon, CEST
        ("2026-10-23T07:05:00Z", "2026-10-23T16:00:00Z"), // Fri, CEST
        ("2026-10-26T07:05:00Z", "2026-10-26T16:00:00Z"), // Mon, CET
    ];
    for (check_in, check_out) in fixes {
        assert_eq!(
            check_at(&env, check_in, "check-in", "nl", HQ)["accepted"],
            true
        );
        assert_eq!(
            check_at(&env, check_out, "check-out", "nl", HQ)["accepted"],
            true
        );
    }
    let spring = attendance(
        &env,
        "2026-04-01T00:00:00Z",
        "2026-03-27",
        "2026-03-30",
        None,
    );
    // Weekend (28th, 29th): no shift, no row.
    assert_eq!(dates_of(&spring, "nl"), ["2026-03-27", "2026-03-30"]);
    let autumn = attendance(
        &env,
        "2026-10-28T00:00:00Z",
        "2026-10-23",
        "2026-10-26",
        None,
    );
    assert_eq!(dates_of(&autumn, "nl"), ["2026-10-23", "2026-10-26"]);
    for (report, date, local, out, status, late) in [
        // 06:30Z + 1 h = 07:30 CET: before 08:00 → on time.
        (
            &spring,
            "2026-03-27",
            "2026-03-27T07:30:00+01:00",
            "2026-03-27T17:00:00+01:00",
            "on_time",
            0,
        ),
        // 06:30Z + 2 h = 08:30 CEST: 20 min past 08:10.
        (
            &spring,
            "2026-03-30",
            "2026-03-30T08:30:00+02:00",
            "2026-03-30T18:00:00+02:00",
            "late",
            20,
        ),
        // 07:05Z + 2 h = 09:05 CEST: 55 min past 08:10.
        (
            &autumn,
            "2026-10-23",
            "2026-10-23T09:05:00+02:00",
            "2026-10-23T18:00:00+02:00",
            "late",
            55,
        ),
        // 07:05Z + 1 h = 08:05 CET: within the grace → on time.
        (
            &autumn,
            "2026-10-26",
            "2026-10-26T08:05:00+01:00",
            "2026-10-26T17:00:00+01:00",
            "on_time",
            0,
        ),
    ] {
        let d = day(report, "nl", date);
        assert_eq!(d["time_zone"], "Europe/Amsterdam");
        assert_eq!(d["first_check_in"], local, "{date}");
        assert_eq!(d["last_check_out"], out, "{date}");
        assert_eq!(d["status"], status, "{date}");
        assert_eq!(d["minutes_late"], late, "{date}");
        assert_eq!(d["missing_check_out"], false, "{date}");
    }
}

#[test]
fn stockholm_days_of_23_and_25_hours() {
    // Europe/Stockholm follows the same EU rule as Amsterdam. A daily shift,
    // so the change days themselves are working days.
    let env = zone_env(&[("se", "08:00", "16:00", "daily", "Europe/Stockholm")]);
    for (at, kind) in [
        // Sun 29 March, after the 01:00Z change: 06:11Z = 08:11 CEST.
        ("2026-03-29T06:11:00Z", "check-in"),
        // 21:59:59Z = 23:59:59 CEST: the last second of the 23-hour day.
        ("2026-03-29T21:59:59Z", "check-out"),
        // 22:30Z = 00:30 CEST Monday (in CET it would still be Sunday).
        ("2026-03-29T22:30:00Z", "check-in"),
        ("2026-03-30T06:00:00Z", "check-out"),
        // Sun 25 October, after the change: 07:10:30Z = 08:10:30 CET.
        ("2026-10-25T07:10:30Z", "check-in"),
        // 22:59:59Z = 23:59:59 CET: the last second of the 25-hour day (in
        // CEST it would be 00:59:59 on Monday).
        ("2026-10-25T22:59:59Z", "check-out"),
    ] {
        let event = check_at(&env, at, kind, "se", HQ);
        assert_eq!(event["accepted"], true, "{at}: {event}");
        assert_eq!(reasons(&event), Vec::<String>::new(), "{at}");
    }
    let spring = attendance(
        &env,
        "2026-04-01T00:00:00Z",
        "2026-03-29",
        "2026-03-30",
        None,
    );
    let sun = day(&spring, "se", "2026-03-29");
    assert_eq!(sun["first_check_in"], "2026-03-29T08:11:00+02:00");
    assert_eq!(sun["last_check_out"], "2026-03-29T23:59:59+02:00");
    // 08:00 CEST = 06:00Z; + 10 min grace = 06:10Z; 06:11Z → 1 min late.
    assert_eq!(sun["status"], "late");
    assert_eq!(sun["minutes_late"], 1);
    assert_eq!(sun["missing_check_out"], false);
    let mon = day(&spring, "se", "2026-03-30");
    assert_eq!(mon["first_check_in"], "2026-03-30T00:30:00+02:00");
    assert_eq!(mon["last_check_out"], "2026-03-30T08:00:00+02:00");
    assert_eq!(mon["status"], "on_time");
    assert_eq!(mon["minutes_late"], 0);

    let autumn = attendance(
        &env,
        "2026-10-27T00:00:00Z",
        "2026-10-25",
        "2026-10-25",
        None,
    );
    assert_eq!(dates_of(&autumn, "se"), ["2026-10-25"]);
    let sun = day(&autumn, "se", "2026-10-25");
    assert_eq!(sun["first_check_in"], "2026-10-25T08:10:30+01:00");
    assert_eq!(sun["last_check_out"], "2026-10-25T23:59:59+01:00");
    // 08:00 CET = 07:00Z; + 10 min = 07:10Z; 30 s past → rounded up to 1.
    assert_eq!(sun["status"], "late");
    assert_eq!(sun["minutes_late"], 1);
    assert_eq!(sun["missing_check_out"], false);
}

// ---------------------------------------------------------------------------
// 3. Reports: golden JSON, CSV, HTML

/// Two circles of my own: Jakarta (150 m) and Bandung (100 m).
const GOLDEN_SITES: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature",
   "geometry": {"type": "Point", "coordinates": [106.8456, -6.2088]},
   "properties": {"id": "kantor-jkt", "name": "Kantor Jakarta", "radius_m": 150}},
  {"type": "Feature",
   "geometry": {"type": "Point", "coordinates": [107.6098, -6.9147]},
   "properties": {"id": "cabang-bdg", "name": "Cabang Bandung", "radius_m": 100}}
]}"#;
const KANTOR: (&str, &str) = ("-6.2088", "106.8456");
const CABANG: (&str, &str) = ("-6.9147", "107.6098");
/// 0.009° (about 1 km) north of the Bandung centre: far outside.
const CABANG_1KM: (&str, &str) = ("-6.9057", "107.6098");

/// When the reports of the golden scenario are built (Wed 10:00 WIB).
const REPORT_NOW: &str = "2026-01-07T03:00:00Z";

/// The fixed scenario of the golden reports, Mon 5 – Tue 6 January 2026.
/// Returns the store and the run-specific ids by placeholder.
fn golden_scenario() -> (Env, BTreeMap<String, String>) {
    let env = Env::new();
    let mut ids = BTreeMap::new();
    let setup = "2026-01-04T00:00:00Z";
    let sites = env.write("golden.geojson", GOLDEN_SITES);
    env.run_at(setup, &["site", "import", sites.to_str().unwrap()])
        .ok();
    for agent in ["agus", "budi", "citra"] {
        env.run_at(
            setup,
            &[
                "consent",
                "grant",
                "--agent",
                agent,
                "--permission",
                "location",
            ],
        )
        .ok();
    }
    // Display names: agus has one, budi's is erased below, citra none.
    for (agent, name) in [("agus", "Agus Salim"), ("budi", "Budi Gunawan")] {
        env.run_at(setup, &["agent", "name", "--agent", agent, "--name", name])
            .ok();
    }
    env.run_at(setup, &["privacy", "erase", "--agent", "budi"])
        .ok();
    // citra has no shift: her days are UTC dates and `unscheduled`.
    for (agent, start, end) in [("agus", "08:00", "17:00"), ("budi", "09:00", "18:00")] {
        env.run_at(
            setup,
            &[
                "shift",
                "set",
                "--agent",
                agent,
                "--start",
                start,
                "--end",
                end,
                "--days",
                "mon-fri",
                "--tz",
                "Asia/Jakarta",
            ],
        )
        .ok();
    }

    // Attendance, in time order; each fix captured at its `--now`.
    let event = |at: &str, kind: &str, agent: &str, fix: (&str, &str), extra: &[&str]| {
        let (lat, lon) = fix;
        let args = [
            &[
                "--json",
                "--actor",
                agent,
                "--role",
                "agent",
                kind,
                "--agent",
                agent,
                "--lat",
                lat,
                "--lon",
                lon,
                "--accuracy",
                "10",
            ][..],
            extra,
        ]
        .concat();
        env.run_at(at, &args).ok().json()
    };
    // agus, Monday: 07:55 WIB in, 17:05 WIB out.
    event("2026-01-05T00:55:00Z", "check-in", "agus", KANTOR, &[]);
    event("2026-01-05T10:05:00Z", "check-out", "agus", KANTOR, &[]);
    // budi, Monday: rejected from 1 km away (08:50 WIB), rejected as a mock
    // location (08:52 WIB), accepted at 09:05 WIB; never checks out.
    let outside = event("2026-01-05T01:50:00Z", "check-in", "budi", CABANG_1KM, &[]);
    assert_eq!(reasons(&outside), ["outside_geofence"]);
    let mock = event(
        "2026-01-05T01:52:00Z",
        "check-in",
        "budi",
        CABANG,
        &["--mock"],
    );
    assert_eq!(reasons(&mock), ["mock_location"]);
    let budi_in = event("2026-01-05T02:05:00Z", "check-in", "budi", CABANG, &[]);
    assert_eq!(budi_in["accepted"], true);
    // citra, Monday: 03:00–09:00 UTC.
    event("2026-01-05T03:00:00Z", "check-in", "citra", KANTOR, &[]);
    event("2026-01-05T09:00:00Z", "check-out", "citra", KANTOR, &[]);
    // agus, Tuesday: 08:25 WIB in (late), 17:00 WIB out. budi is absent.
    let agus_tue = event("2026-01-06T01:25:00Z", "check-in", "agus", KANTOR, &[]);
    event("2026-01-06T10:00:00Z", "check-out", "agus", KANTOR, &[]);
    ids.insert(
        "<event:budi-mon-outside>".to_string(),
        outside["event_id"].as_str().unwrap().to_string(),
    );
    ids.insert(
        "<event:agus-tue-check-in>".to_string(),
        agus_tue["event_id"].as_str().unwrap().to_string(),
    );

    // Reviews by the supervisor; the later of two decisions on a day wins.
    let review = |at: &str, event: &Value, decision: &str, note: &str| -> String {
        env.run_at(
            at,
            &[
                "--json",
                "--actor",
                "spv",
                "--role",
                "supervisor",
                "review",
                event["event_id"].as_str().unwrap(),
                decision,
                "--note",
                note,
            ],
        )
        .ok()
        .json()["review_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let budi_ok = review(
        "2026-01-06T04:00:00Z",
        &outside,
        "--approve",
        "GPS drift at the gate",
    );
    review(
        "2026-01-06T04:30:00Z",
        &agus_tue,
        "--approve",
        "Traffic on the toll road",
    );
    // The whole of agus's Tuesday approved, then one of its events
    // rejected: the day keeps its own decision (report schema 2).
    let agus_day = env
        .run_at(
            "2026-01-06T04:45:00Z",
            &[
                "--json",
                "--actor",
                "spv",
                "--role",
                "supervisor",
                "review",
                "--agent",
                "agus",
                "--date",
                "2026-01-06",
                "--approve",
                "--note",
                "Client visit agreed",
            ],
        )
        .ok()
        .json();
    assert_eq!(agus_day["event_id"], Value::Null);
    ids.insert(
        "<review:agus-tue-day-approved>".to_string(),
        agus_day["review_id"].as_str().unwrap().to_string(),
    );
    let agus_no = review(
        "2026-01-06T05:00:00Z",
        &agus_tue,
        "--reject",
        "Late without notice",
    );
    ids.insert("<review:budi-mon-approved>".to_string(), budi_ok);
    ids.insert("<review:agus-tue-rejected>".to_string(), agus_no);

    // Sales: agents log their own leads. Both agents' local dates are WIB:
    // the period is [2026-01-04T17:00Z, 2026-01-06T17:00Z).
    let lead = |at: &str, agent: &str, name: &str| lead_as(&env, at, agent, "agent", agent, name);
    // agus: one lead a second before the period (23:59:59 WIB on Sunday),
    // one at its first second, one after it (00:30 WIB on Wednesday).
    lead("2026-01-04T16:59:59Z", "agus", "Before Period");
    let l2 = lead("2026-01-04T17:00:00Z", "agus", "Rina Wulandari");
    let l1 = lead("2026-01-05T02:00:00Z", "agus", "Siti Rahma");
    lead("2026-01-06T04:00:00Z", "agus", "Joko Susilo"); // stays new
    let l4 = lead("2026-01-06T05:00:00Z", "agus", "Ani Lestari");
    lead("2026-01-06T17:30:00Z", "agus", "After Period");
    move_lead(&env, "2026-01-05T04:00:00Z", "agus", &l1, "contacted");
    move_lead(&env, "2026-01-05T05:00:00Z", "agus", &l1, "qualified");
    move_lead(&env, "2026-01-05T06:00:00Z", "agus", &l1, "proposal");
    move_lead(&env, "2026-01-05T07:00:00Z", "agus", &l2, "lost");
    move_lead(&env, "2026-01-06T06:00:00Z", "agus", &l4, "contacted");
    let now = REPORT_NOW;
    add_txn(
        &env,
        now,
        "agus",
        "policy_closing",
        "1500000.50",
        "IDR",
        Some(&l1),
        Some("2026-01-06T03:00:00Z"),
    );
    move_lead(&env, "2026-01-06T03:05:00Z", "agus", &l1, "won");
    add_txn(
        &env,
        now,
        "agus",
        "premium_payment",
        "250000",
        "IDR",
        None,
        Some("2026-01-06T06:00:00Z"),
    );
    // 00:30 WIB on Monday: inside the period although a Sunday in UTC.
    add_txn(
        &env,
        now,
        "agus",
        "premium_payment",
        "100000",
        "IDR",
        None,
        Some("2026-01-04T17:30:00Z"),
    );
    // 00:00:00 WIB on Wednesday: the first second after the period.
    add_txn(
        &env,
        now,
        "agus",
        "renewal",
        "99.99",
        "IDR",
        None,
        Some("2026-01-06T17:00:00Z"),
    );
    // 23:59:59 WIB on Sunday: the last second before it.
    add_txn(
        &env,
        now,
        "agus",
        "premium_payment",
        "999",
        "IDR",
        None,
        Some("2026-01-04T16:59:59Z"),
    );

    // budi: two won (JPY closings), one lost, one new; EUR premium and a
    // cancellation.
    let l6 = lead("2026-01-05T03:00:00Z", "budi", "Wayan Sudarta");
    lead("2026-01-05T03:10:00Z", "budi", "Made Ayu");
    let l8 = lead("2026-01-06T02:00:00Z", "budi", "Putu Eka");
    let l9 = lead("2026-01-06T02:30:00Z", "budi", "Komang Ari");
    add_txn(
        &env,
        now,
        "budi",
        "policy_closing",
        "150000",
        "JPY",
        Some(&l6),
        Some("2026-01-05T04:00:00Z"),
    );
    move_lead(&env, "2026-01-05T04:05:00Z", "budi", &l6, "won");
    move_lead(&env, "2026-01-06T02:10:00Z", "budi", &l8, "proposal");
    move_lead(&env, "2026-01-06T02:20:00Z", "budi", &l8, "lost");
    add_txn(
        &env,
        now,
        "budi",
        "policy_closing",
        "50000",
        "JPY",
        Some(&l9),
        Some("2026-01-06T03:00:00Z"),
    );
    // Skipping stages is allowed: new → won.
    move_lead(&env, "2026-01-06T03:05:00Z", "budi", &l9, "won");
    add_txn(
        &env,
        now,
        "budi",
        "premium_payment",
        "99.90",
        "EUR",
        None,
        Some("2026-01-06T06:00:00Z"),
    );
    add_txn(
        &env,
        now,
        "budi",
        "cancellation",
        "10.5",
        "EUR",
        None,
        Some("2026-01-06T07:00:00Z"),
    );

    // citra: no shift, so UTC dates. 23:30 UTC on Tuesday is in the period
    // (in WIB it would not be); midnight UTC on Wednesday is not.
    add_txn(
        &env,
        now,
        "citra",
        "renewal",
        "12.345",
        "KWD",
        None,
        Some("2026-01-06T23:30:00Z"),
    );
    add_txn(
        &env,
        now,
        "citra",
        "renewal",
        "1.000",
        "KWD",
        None,
        Some("2026-01-07T00:00:00Z"),
    );

    (env, ids)
}

/// Replaces run-specific ids with their placeholders; panics on any other
/// UUID left in the value.
fn placeholders(value: &mut Value, ids: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some((name, _)) = ids.iter().find(|(_, id)| id.as_str() == s.as_str()) {
                *s = name.clone();
            }
            let uuid_like = s.len() == 36
                && s.char_indices()
                    .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
            assert!(!uuid_like, "an unexpected run-specific id: {s}");
        }
        Value::Array(items) => items.iter_mut().for_each(|v| placeholders(v, ids)),
        Value::Object(map) => map.values_mut().for_each(|v| placeholders(v, ids)),
        _ => {}
    }
}

fn golden(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Compares day by day first, so a failure names the first differing day.
#[track_caller]
fn assert_same_report(actual: &Value, expected: &Value, rows: &str) {
    let (a, e) = (
        actual[rows].as_array().unwrap(),
        expected[rows].as_array().unwrap(),
    );
    for (i, (a, e)) in a.iter().zip(e).enumerate() {
        assert_eq!(a, e, "{rows}[{i}] differs:\nactual {a:#}\nexpected {e:#}");
    }
    assert_eq!(a.len(), e.len(), "{rows}: {actual:#}");
    assert_eq!(actual, expected, "{actual:#}");
}

#[test]
fn golden_reports_in_json_csv_and_html() {
    let (env, ids) = golden_scenario();
    let range = ["--from", "2026-01-05", "--to", "2026-01-06"];
    let report = |kind: &str, format: &str| {
        env.run_at(
            REPORT_NOW,
            &[&["report", kind][..], &range[..], &["--format", format][..]].concat(),
        )
        .ok()
    };

    // JSON against the hand-written golden files.
    let mut attendance = report("attendance", "json").json();
    placeholders(&mut attendance, &ids);
    let expected = golden("attendance_report.json");
    assert_same_report(&attendance, &expected, "days");
    let mut sales = report("sales", "json").json();
    placeholders(&mut sales, &ids);
    assert_same_report(&sales, &golden("sales_report.json"), "agents");

    // CSV written with --out and read back: the same rows and values.
    let out = env.dir.path().join("attendance.csv");
    let written = env.run_at(
        REPORT_NOW,
        &[
            &["report", "attendance"][..],
            &range,
            &["--format", "csv", "--out", out.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(written.code, 0, "{}", written.stderr);
    assert!(written.stdout.is_empty(), "{}", written.stdout);
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.ends_with(b"\r\n"), "RFC 4180 records end in CRLF");
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut want_header: Vec<String> = [
        "agent",
        "name",
        "date",
        "time_zone",
        "status",
        "shift_start",
        "first_check_in",
        "site_id",
        "last_check_out",
        "check_out_site_id",
        "minutes_late",
        "missing_check_out",
        "rejected_total",
    ]
    .map(String::from)
    .to_vec();
    let codes = [
        "restricted",
        "consent_required",
        "stale_fix",
        "future_fix",
        "mock_location",
        "low_accuracy",
        "no_sites",
        "outside_geofence",
        "uncertain_position",
        "impossible_travel",
        "sequence",
    ];
    want_header.extend(codes.iter().map(|c| format!("rejected_{c}")));
    want_header.extend(
        [
            "review_decision",
            "reviewer",
            "review_note",
            "events_approved",
            "events_rejected",
        ]
        .map(String::from),
    );
    assert_eq!(header, want_header);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let days = expected["days"].as_array().unwrap();
    assert_eq!(rows.len(), days.len());
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (row, day) in rows.iter().zip(days) {
        let cell = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
        for field in [
            "agent",
            "name",
            "date",
            "time_zone",
            "status",
            "shift_start",
            "site_id",
            "check_out_site_id",
            "minutes_late",
            "missing_check_out",
            "rejected_total",
        ] {
            assert_eq!(cell(field), text(&day[field]), "{field} of {day}");
        }
        // Times: the same instant in the same local offset (the JSON writes
        // a zero offset as `Z`, the CSV as `+00:00`).
        for field in ["first_check_in", "last_check_out"] {
            let parse =
                |t: &str| (!t.is_empty()).then(|| chrono::DateTime::parse_from_rfc3339(t).unwrap());
            let (csv_time, json_time) = (parse(cell(field)), parse(&text(&day[field])));
            assert_eq!(csv_time, json_time, "{field} of {day}");
            assert_eq!(
                csv_time.map(|t| t.offset().local_minus_utc()),
                json_time.map(|t| t.offset().local_minus_utc()),
                "{field} of {day}"
            );
        }
        for code in codes {
            let n = day["rejected"][code].as_u64().unwrap_or(0);
            assert_eq!(cell(&format!("rejected_{code}")), n.to_string(), "{code}");
        }
        let review = &day["review"];
        assert_eq!(cell("review_decision"), text(&review["decision"]));
        assert_eq!(cell("reviewer"), text(&review["reviewer"]));
        assert_eq!(cell("review_note"), text(&review["note"]));
        let decided = |d: &str| {
            day["event_reviews"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["decision"] == d)
                .count()
                .to_string()
        };
        assert_eq!(cell("events_approved"), decided("approved"));
        assert_eq!(cell("events_rejected"), decided("rejected"));
    }

    let sales_csv = report("sales", "csv").stdout;
    let mut reader = csv::Reader::from_reader(sales_csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let statuses = ["new", "contacted", "qualified", "proposal", "won", "lost"];
    let mut want_header = vec!["agent".to_string(), "leads_total".to_string()];
    want_header.extend(statuses.iter().map(|s| format!("leads_{s}")));
    want_header
        .extend(["conversion_rate", "closings", "premium", "cancellations"].map(String::from));
    assert_eq!(header, want_header);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let agents = sales["agents"].as_array().unwrap();
    assert_eq!(rows.len(), agents.len());
    let amounts = |v: &Value| {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(code, amount)| format!("{code} {}", amount.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    for (row, agent) in rows.iter().zip(agents) {
        assert_eq!(&row[0], agent["agent"].as_str().unwrap());
        assert_eq!(row[1], agent["leads_total"].to_string());
        for (i, s) in statuses.iter().enumerate() {
            assert_eq!(row[2 + i], agent["leads_by_status"][s].to_string(), "{s}");
        }
        let rate = agent["conversion_rate"].as_f64();
        assert_eq!(row[8].parse::<f64>().ok(), rate, "conversion_rate");
        assert_eq!(row[9], agent["closings"].to_string());
        assert_eq!(row[10], amounts(&agent["premium"]));
        assert_eq!(row[11], amounts(&agent["cancellations"]));
    }
    assert_eq!(&rows[1][10], "EUR 99.90; JPY 200000");

    // HTML: one self-contained page with the chart and the table.
    for (kind, table) in [("attendance", "id=\"days\""), ("sales", "id=\"agents\"")] {
        let html = report(kind, "html").stdout;
        assert!(html.starts_with("<!DOCTYPE html>"), "{kind}");
        assert!(html.contains("id=\"chart\""), "{kind}");
        assert!(html.contains(table), "{kind}");
        assert!(html.contains("<svg"), "{kind}");
        for external in [
            "http://", "https://", "//", "src=", "href=", "<link", "<script", "@import", "url(",
        ] {
            assert!(
                !html.contains(external),
                "{kind} report contains {external:?}"
            );
        }
    }
    let html = report("attendance", "html").stdout;
    for text in [
        "agus",
        "budi",
        "citra",
        "Late without notice",
        "GPS drift at the gate",
        "Client visit agreed",
        "Agus Salim",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

// ---------------------------------------------------------------------------
// 4. Bad input

#[test]
fn bad_lead_statuses_and_transitions_are_refused() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let fresh = add_lead(&env, NOW, "a1", "Fresh");
    let proposal = add_lead(&env, NOW, "a1", "Proposal");
    move_lead(&env, NOW, "a1", &proposal, "proposal");
    let won = add_lead(&env, NOW, "a1", "Won");
    add_txn(
        &env,
        NOW,
        "a1",
        "policy_closing",
        "100",
        "IDR",
        Some(&won),
        None,
    );
    move_lead(&env, NOW, "a1", &won, "won");
    let lost = add_lead(&env, NOW, "a1", "Lost");
    move_lead(&env, NOW, "a1", &lost, "lost");
    let paid = add_lead(&env, NOW, "a1", "Paid Premium Only");
    add_txn(
        &env,
        NOW,
        "a1",
        "premium_payment",
        "100",
        "IDR",
        Some(&paid),
        None,
    );

    for (lead, status) in [
        (&fresh, "closed"),
        (&fresh, "WON"),
        (&fresh, ""),
        (&proposal, "contacted"),
        (&won, "lost"),
        (&won, "new"),
        (&lost, "new"),
        (&lost, "won"),
        // `won` needs a policy_closing transaction for this lead.
        (&proposal, "won"),
        (&fresh, "won"),
        (&paid, "won"),
    ] {
        let stderr = refused(&env, &["lead", "update", lead, "--status", status]);
        assert!(stderr.contains("status"), "{status}: {stderr}");
    }
    refused(&env, &["lead", "list", "--status", "closed"]);

    // The statuses are as they were.
    let listed = env.run(&["--json", "lead", "list"]).ok().json_lines();
    let status: HashMap<&str, &str> = listed
        .iter()
        .map(|l| {
            (
                l["lead_id"].as_str().unwrap(),
                l["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(status[fresh.as_str()], "new");
    assert_eq!(status[proposal.as_str()], "proposal");
    assert_eq!(status[won.as_str()], "won");
    assert_eq!(status[lost.as_str()], "lost");
    assert_eq!(status[paid.as_str()], "new");
}

#[test]
fn bad_amounts_and_currencies_are_refused() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let txn = |amount: &str, currency: &str| -> Vec<String> {
        [
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            "premium_payment",
            "--policy-number",
            "P-1",
            "--product",
            "life",
            "--amount",
            amount,
            "--currency",
            currency,
        ]
        .map(String::from)
        .to_vec()
    };
    for (amount, currency, field) in [
        ("-5", "IDR", "amount"),
        ("-5.00", "EUR", "amount"),
        ("+5", "IDR", "amount"),
        ("1,000", "IDR", "amount"),
        ("1e3", "IDR", "amount"),
        ("1.234", "EUR", "amount"),
        ("1.5", "JPY", "amount"),
        ("12.3456", "KWD", "amount"),
        ("", "IDR", "amount"),
        ("abc", "IDR", "amount"),
        ("1.", "IDR", "amount"),
        (".5", "IDR", "amount"),
        ("1 000", "IDR", "amount"),
        ("NaN", "IDR", "amount"),
        ("100", "XYZ", "currency"),
        ("100", "idr", "currency"),
        ("100", "IDRR", "currency"),
        ("100", "", "currency"),
    ] {
        let args = txn(amount, currency);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = refused(&env, &args);
        assert!(stderr.contains(field), "{amount} {currency}: {stderr}");
    }
    // `--amount=-5` and `--amount -5` reach the same check (§10: negative
    // numbers are values, not options).
    let stderr = refused(
        &env,
        &[
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            "renewal",
            "--policy-number",
            "P-1",
            "--product",
            "life",
            "--amount=-5",
            "--currency",
            "IDR",
        ],
    );
    assert!(stderr.contains("unsigned"), "{stderr}");
    refused(
        &env,
        &[
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            "bonus",
            "--policy-number",
            "P-1",
            "--product",
            "life",
            "--amount",
            "5",
            "--currency",
            "IDR",
        ],
    );
    assert_eq!(env.run(&["--json", "txn", "list"]).ok().stdout, "");
}

#[test]
fn bad_shifts_and_report_periods_are_refused() {
    let env = Env::with_sites_and_consent(&["a1"]);
    env.run(&[
        "shift",
        "set",
        "--agent",
        "a1",
        "--start",
        "08:00",
        "--end",
        "17:00",
        "--days",
        "mon-fri",
        "--tz",
        "Asia/Jakarta",
    ])
    .ok();
    let shift = |start: &str, end: &str, days: &str, tz: &str| -> Vec<String> {
        [
            "shift", "set", "--agent", "a1", "--start", start, "--end", end, "--days", days,
            "--tz", tz,
        ]
        .map(String::from)
        .to_vec()
    };
    for (args, field) in [
        (shift("25:00", "17:00", "mon-fri", "Asia/Jakarta"), "start"),
        (shift("08:60", "17:00", "mon-fri", "Asia/Jakarta"), "start"),
        (shift("8am", "17:00", "mon-fri", "Asia/Jakarta"), "start"),
        (shift("08:00", "24:00", "mon-fri", "Asia/Jakarta"), "end"),
        (shift("08:00", "08:00", "mon-fri", "Asia/Jakarta"), "end"),
        (shift("08:00", "17:00", "funday", "Asia/Jakarta"), "days"),
        (shift("08:00", "17:00", "", "Asia/Jakarta"), "days"),
        (shift("08:00", "17:00", "mon-fri", "Mars/Olympus"), "tz"),
        (shift("08:00", "17:00", "mon-fri", "asia/jakarta"), "tz"),
        (shift("08:00", "17:00", "mon-fri", "WIB"), "tz"),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = refused(&env, &args);
        assert!(stderr.contains(field), "{args:?}: {stderr}");
    }
    let shifts = env.run(&["--json", "shift", "list"]).ok().json_lines();
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0]["shift"]["start"], "08:00");
    assert_eq!(shifts[0]["shift"]["tz"], "Asia/Jakarta");

    for kind in ["attendance", "sales"] {
        for (from, to, field) in [
            ("2026-01-06", "2026-01-05", "to"),
            ("2026-02-30", "2026-03-01", "from"),
            ("05/01/2026", "2026-01-06", "from"),
            ("2026-01-05", "tomorrow", "to"),
            ("2026-01-05T00:00:00Z", "2026-01-06", "from"),
        ] {
            let stderr = refused(&env, &["report", kind, "--from", from, "--to", to]);
            assert!(stderr.contains(field), "{kind} {from} {to}: {stderr}");
        }
        // An unknown format is a usage error (clap), also exit 2.
        let run = env.run(&[
            "report",
            kind,
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-05",
            "--format",
            "pdf",
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
    }
    // A report to an unwritable place creates nothing and exits non-zero.
    let out = env.dir.path().join("no/such/dir/report.csv");
    let run = env.run(&[
        "report",
        "attendance",
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-05",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    assert!(!out.exists());
}

#[test]
fn unknown_records_and_empty_or_foreign_values_are_refused() {
    let env = Env::with_sites_and_consent(&["a1", "a2"]);
    let lead = add_lead(&env, NOW, "a1", "Customer");
    let foreign = add_lead(&env, NOW, "a2", "Somebody Else's");
    let event = env.check("check-in", "a1", HQ, "10", &[]);
    let event_id = event["event_id"].as_str().unwrap();
    let missing = "01a200cc-0000-7000-8000-000000000000";

    refused_as(
        &env,
        "not_found",
        &["lead", "update", missing, "--note", "x"],
    );
    refused_as(&env, "not_found", &["lead", "history", missing]);
    refused_as(
        &env,
        "not_found",
        &["review", missing, "--approve", "--note", "x"],
    );
    // A review needs a note, and exactly one decision (usage error otherwise).
    refused(&env, &["review", event_id, "--approve", "--note", " "]);
    for args in [
        &["review", event_id, "--note", "x"][..],
        &["review", event_id, "--approve", "--reject", "--note", "x"],
        &["review", event_id, "--approve"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    refused(&env, &["lead", "add", "--agent", "a1", "--name", ""]);
    refused(&env, &["lead", "add", "--agent", "a1", "--name", "   "]);
    refused(
        &env,
        &[
            "lead",
            "add",
            "--agent",
            "a1",
            "--name",
            "X",
            "--email",
            "no-at-sign",
        ],
    );
    refused(
        &env,
        &[
            "lead", "add", "--agent", "a1", "--name", "X", "--phone", "call me",
        ],
    );
    refused(&env, &["lead", "update", &lead]);
    // A transaction may name only a lead of the same agent.
    let stderr = refused(
        &env,
        &[
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            "policy_closing",
            "--policy-number",
            "P-1",
            "--product",
            "life",
            "--amount",
            "100",
            "--currency",
            "IDR",
            "--lead",
            &foreign,
        ],
    );
    assert!(stderr.contains("lead"), "{stderr}");
    refused_as(
        &env,
        "not_found",
        &[
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            "policy_closing",
            "--policy-number",
            "P-1",
            "--product",
            "life",
            "--amount",
            "100",
            "--currency",
            "IDR",
            "--lead",
            missing,
        ],
    );
}

#[test]
fn awkward_names_round_trip_unchanged() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let names = [
        "O'Brien \"Bobby\"",
        "Robert'); DROP TABLE leads;--",
        "Dewi 🌺",
        "مريم",
        "שרה",
        "Zoë Ñúñez 李小龍",
        "a\\b %s %n ${HOME} `id`",
        "<script>alert(1)</script>",
    ];
    let mut ids = Vec::new();
    for name in names {
        let id = lead_as(&env, NOW, "a1", "agent", "a1", name);
        ids.push(id);
    }
    // Notes too, through an update.
    env.run(&["lead", "update", &ids[1], "--note", names[1]])
        .ok();

    let listed = env
        .run(&["--json", "--actor", "a1", "--role", "agent", "lead", "list"])
        .ok()
        .json_lines();
    assert_eq!(listed.len(), names.len(), "the leads table is still there");
    for (id, name) in ids.iter().zip(names) {
        let lead = listed
            .iter()
            .find(|l| l["lead_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} ({name}) not listed"));
        assert_eq!(lead["customer_name"], name);
    }
    let with_note = listed
        .iter()
        .find(|l| l["lead_id"] == ids[1].as_str())
        .unwrap();
    assert_eq!(with_note["notes"], serde_json::json!([names[1]]));
    // The history keeps them too, and the chain still verifies.
    let history = env
        .run(&["--json", "lead", "history", &ids[2]])
        .ok()
        .json_lines();
    assert_eq!(history[0]["customer_name"], names[2]);
    env.run(&["verify"]).ok();
    // So does the human listing.
    let human = env.run(&["lead", "list"]).ok().stdout;
    for name in names {
        assert!(human.contains(name), "{name} not in:\n{human}");
    }
}

// ---------------------------------------------------------------------------
// 5. Output of `lead add` and `txn add`

#[test]
fn lead_add_prints_the_bare_id_and_json_carries_lead_id_and_id() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let run = env
        .run(&[
            "lead",
            "add",
            "--agent",
            "a1",
            "--name",
            "Siti",
            "--phone",
            "+62 812-555-0101",
        ])
        .ok();
    // Exactly the id and a newline, so `$(fieldcheck lead add …)` works.
    let id = run.stdout.strip_suffix('\n').expect("ends in a newline");
    assert!(
        !id.is_empty() && !id.contains(char::is_whitespace),
        "{:?}",
        run.stdout
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // The printed id is usable as is.
    let updated = env
        .run(&["--json", "lead", "update", id, "--status", "contacted"])
        .ok()
        .json();
    assert_eq!(updated["status"], "contacted");

    let created = env
        .run(&[
            "--json",
            "lead",
            "add",
            "--agent",
            "a1",
            "--name",
            "Budi",
            "--email",
            "b@example.id",
        ])
        .ok()
        .json();
    let lead_id = created["lead_id"].as_str().unwrap();
    assert_eq!(created["id"], lead_id);
    assert_eq!(created["agent"], "a1");
    assert_eq!(created["status"], "new");
    assert_eq!(created["customer_name"], "Budi");
    assert_eq!(created["email"], "b@example.id");
    let listed = env.run(&["--json", "lead", "list"]).ok().json_lines();
    let ids: Vec<&str> = listed
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id, lead_id]);
    assert!(listed.iter().all(|l| l["id"] == l["lead_id"]));
}

#[test]
fn txn_add_prints_the_bare_id_and_amounts_in_minor_units() {
    let env = Env::with_sites_and_consent(&["a1"]);
    let run = env
        .run(&[
            "txn",
            "add",
            "--agent",
            "a1",
            "--kind",
            "premium_payment",
            "--policy-number",
            "P-7",
            "--product",
            "life",
            "--amount",
            "1500000.50",
            "--currency",
            "IDR",
        ])
        .ok();
    let id = run.stdout.strip_suffix('\n').expect("ends in a newline");
    assert!(
        !id.is_empty() && !id.contains(char::is_whitespace),
        "{:?}",
        run.stdout
    );

    let mut made = Vec::new();
    for (amount, currency, minor, decimal) in [
        // ISO 4217 exponents: IDR 2, JPY 0, KWD 3.
        ("1500000.50", "IDR", 150_000_050, "1500000.50"),
        ("1500", "JPY", 1500, "1500"),
        ("12.345", "KWD", 12345, "12.345"),
        ("7", "EUR", 700, "7.00"),
        ("0.5", "KWD", 500, "0.500"),
    ] {
        let txn = add_txn(&env, NOW, "a1", "renewal", amount, currency, None, None);
        let txn_id = txn["txn_id"].as_str().unwrap();
        assert_eq!(txn["id"], txn_id);
        assert_eq!(txn["amount_minor"], minor, "{amount} {currency}");
        assert!(txn["amount_minor"].is_i64());
        assert_eq!(txn["amount"], decimal, "{amount} {currency}");
        assert_eq!(txn["currency"], currency);
        made.push((txn_id.to_string(), minor, decimal));
    }
    let listed = env.run(&["--json", "txn", "list"]).ok().json_lines();
    assert_eq!(listed.len(), 1 + made.len());
    assert_eq!(listed[0]["txn_id"], id);
    assert_eq!(listed[0]["amount_minor"], 150_000_050);
    for (txn_id, minor, decimal) in made {
        let t = listed
            .iter()
            .find(|t| t["txn_id"] == txn_id.as_str())
            .unwrap();
        assert_eq!(t["amount_minor"], minor);
        assert_eq!(t["amount"], decimal);
        assert_eq!(t["id"], txn_id.as_str());
    }
}

#[test]
fn shift_set_from_a_date_keeps_the_days_before_it() {
    let env = zone_env(&[("jkt", "08:00", "17:00", "mon-fri", "Asia/Jakarta")]);
    // 08:30 WIB on Tue 6 and Wed 7 January 2026 (01:30Z).
    for day in ["2026-01-06", "2026-01-07"] {
        check_at(&env, &format!("{day}T01:30:00Z"), "check-in", "jkt", HQ);
        check_at(&env, &format!("{day}T10:00:00Z"), "check-out", "jkt", HQ);
    }
    // From Wednesday: 08:30 on weekdays, weekends off; the zone stays.
    let set = env
        .run_at(
            "2026-01-06T12:00:00Z",
            &[
                "--json",
                "shift",
                "set",
                "--agent",
                "jkt",
                "--from",
                "2026-01-07",
                "--weekdays",
                "daily",
                "--off",
                "sat,sun",
                "--start",
                "08:30",
                "--end",
                "17:00",
            ],
        )
        .ok()
        .json();
    assert_eq!(set["from"], "2026-01-07");
    assert_eq!(set["shift"]["days"], "mon-fri");
    assert_eq!(set["shift"]["tz"], "Asia/Jakarta");

    let report = env
        .run_at(
            "2026-01-08T12:00:00Z",
            &[
                "--json",
                "report",
                "attendance",
                "--from",
                "2026-01-06",
                "--to",
                "2026-01-07",
                "--format",
                "json",
            ],
        )
        .ok()
        .json();
    let late: Vec<(&str, &Value)> = report["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap(), &d["minutes_late"]))
        .collect();
    // Tuesday by the old 08:00 start (20 min late after the 10 min grace),
    // Wednesday by the new 08:30 start (on time).
    assert_eq!(
        late,
        [("2026-01-06", &json!(20)), ("2026-01-07", &json!(0))]
    );

    let versions = env
        .run(&["--json", "shift", "list", "--agent", "jkt"])
        .ok()
        .json_lines();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["from"], Value::Null);
    assert_eq!(versions[1]["from"], "2026-01-07");
    assert_eq!(versions[1]["shift"]["start"], "08:30");
    // Neither working days nor days off: a usage error, nothing stored.
    let refused = env.run(&[
        "shift", "set", "--agent", "jkt", "--start", "08:00", "--end", "17:00",
    ]);
    assert_eq!(refused.code, 2);
    assert_eq!(
        env.run(&["--json", "shift", "list", "--agent", "jkt"])
            .ok()
            .json_lines()
            .len(),
        2
    );
}
