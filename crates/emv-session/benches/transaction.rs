//! Full in-process transactions (software card + kernel + embedded in-memory issuer host,
//! through `Session::transact`), one per flow of `emvbench bench`: offline PIN at a POS
//! (a DDA card, and an SDA card), online PIN with ARQC/ARPC at an ATM, and an ATM PIN
//! unblock with an issuer script.
//! Each transaction's setup (a fresh card, a blocked PIN) is left out of the timing.
//!
//! Run: `cargo bench -p emv-session --bench transaction` (add `-- --quick` for a short run).
// Fixed, known-good inputs: a failure here is a bug in the bench itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::too_many_lines
)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emv_session::bench::{Flow, FlowRunner};

fn transactions(c: &mut Criterion) {
    let mut g = c.benchmark_group("transaction");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for flow in Flow::ALL {
        let mut runner = FlowRunner::new(flow).unwrap();
        g.bench_function(flow.id(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += runner.run_next().unwrap();
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, transactions);
criterion_main!(benches);
