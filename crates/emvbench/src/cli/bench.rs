//! `emvbench bench`: a quick throughput summary (TLV, card commands, full transactions,
//! their cryptographic floor, trace replay, host authorisations, memory), measured in one run.

use std::process::ExitCode;

use anyhow::Result;
use emv_session::bench::{self, BenchOptions, BenchReport, PeerOptions};

pub const EXAMPLES: &str = "\
Examples:
  cargo run --release -p emvbench -- bench
  cargo run --release -p emvbench -- bench --quick --json
  cargo run --release -p emvbench -- bench --memory-transactions 1000000   # the long memory run
  cargo run --release -p emvbench -- bench --peers --peers-python .venv/bin/python
  cargo run --release -p emvbench -- bench --postgres postgres://emvbench@127.0.0.1:55432/bench
  cargo run --release -p emvbench --features pcsc -- bench --pcsc   # pcscd + vpcd running

--peers times the `crypto` group's operations again in other implementations, in the same
run: OpenSSL in C (`openssl speed rsa1024` and `des-ede3`) and pyemv 1.5.0 / psec 1.3.0
(Python over the `cryptography` package; `python3 -m venv .venv && .venv/bin/pip install
pyemv==1.5.0 psec==1.3.0`). A peer that is missing is listed as skipped, with the reason.

Measure in release: a debug build is 10-50x slower. Each line is a warm-up then N timed
iterations of a plain loop on one thread; state setup (a fresh card, a blocked PIN) is left
out of the timed part. The criterion benches (`cargo bench -p emv-session`) measure the
full transactions with statistics. The exit status is 0 whether or not the targets are met.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// About 10x fewer iterations (a few seconds): a smoke run, noisier numbers.
    #[arg(long)]
    quick: bool,
    /// Transactions in the memory run (default 100,000; 10,000 with --quick). The
    /// 1,000,000-transaction run takes about 6 minutes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    memory_transactions: Option<u64>,
    /// Also time the same cryptographic operations in OpenSSL and pyemv/psec (adds ~15 s).
    #[arg(long)]
    peers: bool,
    /// The Python that has pyemv and psec installed (for --peers).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "python3",
        requires = "peers"
    )]
    peers_python: String,
    /// The openssl command (for --peers).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "openssl",
        requires = "peers"
    )]
    openssl: String,
    /// Also measure the issuer host on this PostgreSQL database, postgres://USER@HOST/DB
    /// (one node, two nodes, next to SQLite; it gains test cards: use a throw-away one).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Also measure PC/SC: the APDU round trip through pcscd + vpcd to our card and to a
    /// minimal echo card (same run), and full transactions/s through PC/SC. Needs a build
    /// with `--features emvbench/pcsc` and pcscd with vsmartcard-vpcd running, its slots
    /// 0 and 1 free.
    #[arg(long)]
    pcsc: bool,
}

fn human(ops: f64) -> String {
    if ops >= 1e6 {
        format!("{:.2} M/s", ops / 1e6)
    } else if ops >= 1e3 {
        format!("{:.1} k/s", ops / 1e3)
    } else {
        format!("{ops:.0} /s")
    }
}

fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn table(r: &BenchReport) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "emvbench bench{} — card {} (the SDA flow: {}), one thread\n\n",
        if r.quick { " --quick" } else { "" },
        r.card_profile,
        r.sda_card_profile
    ));
    s.push_str(&format!(
        "{:<13} {:<66} {:>10} {:>12} {:>10}\n",
        "group", "operation", "mean", "throughput", "N"
    ));
    for m in &r.measurements {
        s.push_str(&format!(
            "{:<13} {:<66} {:>10} {:>12} {:>10}\n",
            m.group,
            m.name,
            duration(m.mean_ns),
            human(m.ops_per_sec),
            m.iterations
        ));
    }
    s.push('\n');
    for (what, ratio, ops) in [
        (
            "online PIN transaction",
            r.online_pin_overhead_ratio,
            &r.crypto_floor_ops,
        ),
        (
            "offline PIN transaction with the SDA card",
            r.offline_sda_overhead_ratio,
            &r.sda_floor_ops,
        ),
    ] {
        s.push_str(&format!(
            "{what} / its cryptographic floor: {ratio:.2}x\nthe floor counts:\n"
        ));
        for op in ops {
            s.push_str(&format!("  - {op}\n"));
        }
    }
    s.push_str(&format!(
        "\nmemory: {}: VmRSS {} KiB before, {} KiB after {} transactions (max {} KiB)\n",
        r.memory.what,
        r.memory.rss_before_kib,
        r.memory.rss_after_kib,
        r.memory.transactions,
        r.memory.rss_max_kib
    ));
    if !r.peers.is_empty() {
        s.push_str(
            "\npeers, measured in this run (ratio = peer time / ours; above 1: ours is faster):\n",
        );
        s.push_str(&format!(
            "{:<52} {:>10} {:>10} {:>7}  {}\n",
            "operation", "ours", "peer", "ratio", "peer"
        ));
        for p in &r.peers {
            let (peer, ratio) = match (p.peer_ns, p.ratio) {
                (Some(ns), Some(ratio)) => (duration(ns), format!("{ratio:.2}x")),
                _ => ("skipped".into(), "-".into()),
            };
            s.push_str(&format!(
                "{:<52} {:>10} {:>10} {:>7}  {}{}\n",
                p.operation,
                duration(p.ours_ns),
                peer,
                ratio,
                p.peer,
                p.skipped
                    .as_deref()
                    .map(|w| format!(" — {w}"))
                    .unwrap_or_default()
            ));
        }
    }
    s.push_str("\ntargets:\n");
    for t in &r.targets {
        s.push_str(&format!(
            "  [{}] {}: {}\n",
            if t.met { "met" } else { "NOT MET" },
            t.target,
            t.measured
        ));
    }
    s
}

/// Run `emvbench bench`.
pub fn run(args: Args) -> Result<ExitCode> {
    if cfg!(debug_assertions) && !args.json {
        eprintln!("note: this is a debug build; measure with `cargo run --release -- bench`");
    }
    let report = bench::run(&BenchOptions {
        quick: args.quick,
        memory_transactions: args.memory_transactions,
        peers: args.peers.then_some(PeerOptions {
            openssl: args.openssl,
            python: args.peers_python,
        }),
        postgres: args.postgres,
        pcsc: args.pcsc,
    })?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}
