//! Offline power tuning: the bench's results at each candidate memory size (each run with the
//! CPU share Lambda gives that size, `--cpu-share`), turned into what each size costs and the
//! size to configure. `bench --power-report DIR` reads `DIR/<MB>/results.json` and writes
//! `DIR/report.{md,json}`; scripts/power-tune runs the sizes first.
//!
//! Billing follows AWS Lambda's published model: duration rounded up to the next 1 ms, times
//! the configured memory; the init phase is billed too (on a cold start, init plus the first
//! invocation are one billed duration). Prices are AWS's published on-demand x86_64 prices in
//! us-east-1 (first pricing tier); arm64 is an extrapolation: its price at the same measured
//! durations, which this x86_64 machine cannot measure.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

/// When the prices below (and cost.rs's) were read off AWS's price pages.
pub const PRICES_AS_OF: &str = "2025 (AWS's us-east-1 price pages, the latest this project has read; this offline machine cannot re-check them)";
/// x86_64, per GB-second of billed duration (first 6 billion GB-s per month).
pub const X86_PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
/// arm64, per GB-second (first 7.5 billion GB-s per month).
pub const ARM_PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Either architecture, per request.
pub const PRICE_PER_REQUEST: f64 = 0.20 / 1e6;
/// One vCPU's worth of memory: Lambda's CPU share at memory M is M / 1769.
pub const MB_PER_VCPU: f64 = 1769.0;

/// One function at one memory size, as measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub memory_mb: u32,
    /// Exec to the first `/next`: the init phase.
    pub init_ms: f64,
    pub first_invocation_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// What one size costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub measured: Measured,
    /// The expected bill of a warm invocation: the mean duration rounded up to the next
    /// millisecond on average (mean + 0.5 ms, at least 1 ms).
    pub billed_warm_ms: f64,
    pub billed_cold_ms: u64,
    /// A million warm invocations at the expected billed duration, requests included.
    pub x86_per_million: f64,
    pub arm_per_million: f64,
    /// One cold start's billed duration (init and first invocation) beyond a warm one.
    pub x86_per_cold_start: f64,
}

fn gb(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / 1024.0
}

/// Rounded up to the next whole millisecond, as Lambda bills.
pub fn billed_ms(duration_ms: f64) -> u64 {
    duration_ms.max(0.0).ceil().max(1.0) as u64
}

/// What a warm invocation is billed on average: durations spread over more than a millisecond
/// are rounded up by half a millisecond on average.
pub fn expected_billed_ms(mean_ms: f64) -> f64 {
    (mean_ms.max(0.0) + 0.5).max(1.0)
}

pub fn price(measured: &Measured) -> Priced {
    let billed_warm_ms = expected_billed_ms(measured.mean_ms);
    let billed_cold_ms = billed_ms(measured.init_ms + measured.first_invocation_ms);
    let per_invocation = |rate: f64| gb(measured.memory_mb) * billed_warm_ms / 1e3 * rate;
    let cold_extra = (billed_cold_ms as f64 - billed_warm_ms).max(0.0) / 1e3;
    Priced {
        measured: measured.clone(),
        billed_warm_ms,
        billed_cold_ms,
        x86_per_million: (per_invocation(X86_PRICE_PER_GB_SECOND) + PRICE_PER_REQUEST) * 1e6,
        arm_per_million: (per_invocation(ARM_PRICE_PER_GB_SECOND) + PRICE_PER_REQUEST) * 1e6,
        x86_per_cold_start: gb(measured.memory_mb) * cold_extra * X86_PRICE_PER_GB_SECOND,
    }
}

/// The latency a size must meet: its warm p99 at most 1.5 × the fastest size's p99, or that
/// p99 plus 5 ms, whichever is looser (a few milliseconds are noise for a fast function; half
/// again is what a user notices on a slow one).
pub fn latency_bound_ms(fastest_p99_ms: f64) -> f64 {
    (fastest_p99_ms * 1.5).max(fastest_p99_ms + 5.0)
}

/// The cheapest size (x86 cost per million warm invocations) within the latency bound; the
/// smaller size on a tie. `None` for no sizes.
pub fn recommend(sizes: &[Priced]) -> Option<&Priced> {
    let fastest = sizes
        .iter()
        .map(|priced| priced.measured.p99_ms)
        .fold(f64::INFINITY, f64::min);
    let bound = latency_bound_ms(fastest);
    sizes
        .iter()
        .filter(|priced| priced.measured.p99_ms <= bound)
        .min_by(|a, b| {
            a.x86_per_million
                .total_cmp(&b.x86_per_million)
                .then(a.measured.memory_mb.cmp(&b.measured.memory_mb))
        })
}

/// Each row of one bench run's results.json, by row name.
fn rows_of(results: &Value, memory_mb: u32) -> BTreeMap<String, Measured> {
    results["functions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let name = row["name"].as_str()?.to_owned();
            let measured = Measured {
                memory_mb,
                init_ms: row["cold_start_ready_ms"]["median"].as_f64()?,
                first_invocation_ms: row["first_invocation_us"]["median"].as_f64()? / 1e3,
                mean_ms: row["warm"]["mean_us"].as_f64()? / 1e3,
                p50_ms: row["warm"]["p50_us"].as_f64()? / 1e3,
                p99_ms: row["warm"]["p99_us"].as_f64()? / 1e3,
            };
            Some((name, measured))
        })
        .collect()
}

/// Reads `dir/<MB>/results.json` for every size, writes `dir/report.{md,json}`, returns the
/// markdown. `functions` maps each template function (logical id) to its bench row and its
/// template `MemorySize`.
pub fn report(
    dir: &Path,
    sizes: &[u32],
    functions: &[(String, String, u32)],
    period_us: u64,
) -> Result<String, String> {
    let mut by_row: BTreeMap<String, Vec<Priced>> = BTreeMap::new();
    for &size in sizes {
        let path = dir.join(size.to_string()).join("results.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let results: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (name, measured) in rows_of(&results, size) {
            by_row.entry(name).or_default().push(price(&measured));
        }
    }
    let mut md = format!(
        "Offline power tuning: each function's packaged bootstrap under a CFS quota of \
         M/{MB_PER_VCPU} of a CPU at memory M (period {} ms), against DynamoDB Local on this \
         machine. Cost per million warm invocations at the expected billed duration (Lambda \
         bills 1 ms steps: the mean duration + 0.5 ms; requests included); a cold start bills \
         its init and first invocation as one duration. AWS prices as of \
         {PRICES_AS_OF}, us-east-1 on-demand: x86_64 ${X86_PRICE_PER_GB_SECOND}/GB-s, arm64 \
         ${ARM_PRICE_PER_GB_SECOND}/GB-s (arm64: an extrapolation at the x86 durations), \
         $0.20 per million requests. Not seen here: in-region DynamoDB latency (DynamoDB Local \
         on loopback answers in well under a millisecond of network), TLS to AWS endpoints, \
         and Lambda's own CPU model.\n\n\
         | function | MB | cold start (init + first), ms | p50 ms | p99 ms | expected billed warm ms | x86 $/M | arm64 $/M | x86 $ per cold start | |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        period_us as f64 / 1e3
    );
    let mut chosen = Vec::new();
    for (logical_id, row, template_mb) in functions {
        let Some(priced) = by_row.get(row) else {
            md.push_str(&format!(
                "| {logical_id} | {template_mb} | not measured (no bench row `{row}`) | | | | | | | |\n"
            ));
            chosen.push(json!({"function": logical_id, "row": row, "measured": false, "template_mb": template_mb}));
            continue;
        };
        let best = recommend(priced);
        for p in priced {
            let m = &p.measured;
            let mark = if best.is_some_and(|b| b.measured.memory_mb == m.memory_mb) {
                "**recommended**"
            } else {
                ""
            };
            md.push_str(&format!(
                "| {logical_id} | {} | {:.1} + {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.8} | {mark} |\n",
                m.memory_mb,
                m.init_ms,
                m.first_invocation_ms,
                m.p50_ms,
                m.p99_ms,
                p.billed_warm_ms,
                p.x86_per_million,
                p.arm_per_million,
                p.x86_per_cold_start,
            ));
        }
        if let Some(best) = best {
            chosen.push(json!({
                "function": logical_id,
                "row": row,
                "measured": true,
                "template_mb": template_mb,
                "recommended_mb": best.measured.memory_mb,
                "p50_ms": best.measured.p50_ms,
                "p99_ms": best.measured.p99_ms,
                "billed_warm_ms": best.billed_warm_ms,
                "billed_cold_ms": best.billed_cold_ms,
                "x86_per_million": best.x86_per_million,
                "arm_per_million": best.arm_per_million,
            }));
        }
    }
    md.push_str("\nRecommended (cheapest x86 cost within the latency bound: warm p99 at most 1.5 × the fastest size's, or it + 5 ms):\n\n| function | template MB | recommended MB | p50 ms | billed ms | x86 $/M |\n|---|---|---|---|---|---|\n");
    for entry in &chosen {
        if entry["measured"] == true {
            md.push_str(&format!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} |\n",
                entry["function"].as_str().unwrap_or_default(),
                entry["template_mb"],
                entry["recommended_mb"],
                entry["p50_ms"].as_f64().unwrap_or_default(),
                entry["billed_warm_ms"].as_f64().unwrap_or_default(),
                entry["x86_per_million"].as_f64().unwrap_or_default(),
            ));
        }
    }
    let report = json!({"prices_as_of": PRICES_AS_OF, "period_us": period_us, "sizes": sizes, "functions": chosen});
    std::fs::write(dir.join("report.md"), &md).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(memory_mb: u32, p50_ms: f64, p99_ms: f64) -> Measured {
        Measured {
            memory_mb,
            init_ms: 10.0,
            first_invocation_ms: 5.0,
            mean_ms: p50_ms,
            p50_ms,
            p99_ms,
        }
    }

    #[test]
    fn lambda_bills_whole_milliseconds_rounded_up() {
        assert_eq!(billed_ms(0.2), 1);
        assert_eq!(billed_ms(1.0), 1);
        assert_eq!(billed_ms(1.01), 2);
        assert_eq!(billed_ms(-3.0), 1);
    }

    #[test]
    fn a_million_invocations_cost_memory_times_billed_time_plus_requests() {
        // 1024 MB for 100 ms (a mean of 99.5 ms rounds up by half a millisecond on average):
        // 0.1 GB-s each, 100 000 GB-s per million.
        let priced = price(&measured(1024, 99.5, 120.0));
        assert_eq!(priced.billed_warm_ms, 100.0);
        assert_eq!(expected_billed_ms(0.2), 1.0);
        let expected = 100_000.0 * X86_PRICE_PER_GB_SECOND + 0.20;
        assert!(
            (priced.x86_per_million - expected).abs() < 1e-9,
            "{priced:?}"
        );
        assert!(priced.arm_per_million < priced.x86_per_million);
        // Cold: init 10 + first 5 = 15 ms billed, 15 − 100 < 0: nothing extra.
        assert_eq!(priced.billed_cold_ms, 15);
        assert_eq!(priced.x86_per_cold_start, 0.0);
    }

    #[test]
    fn the_cheapest_size_within_the_latency_bound_is_recommended() {
        // CPU-bound: 4× the memory, about ¼ the time, so about the same price; the slow sizes
        // are outside the bound.
        let sizes: Vec<Priced> = [
            measured(128, 300.0, 340.0),
            measured(512, 76.0, 90.0),
            measured(1024, 39.0, 45.0),
            measured(1769, 23.0, 30.0),
        ]
        .iter()
        .map(price)
        .collect();
        assert_eq!(latency_bound_ms(30.0), 45.0);
        let best = recommend(&sizes).expect("one");
        assert_eq!(best.measured.memory_mb, 1024);
    }

    #[test]
    fn an_io_bound_function_gets_the_smallest_size_that_keeps_up() {
        let sizes: Vec<Priced> = [
            measured(128, 3.2, 6.0),
            measured(256, 2.4, 4.0),
            measured(512, 2.2, 3.5),
        ]
        .iter()
        .map(price)
        .collect();
        assert_eq!(recommend(&sizes).expect("one").measured.memory_mb, 128);
        assert!(recommend(&[]).is_none());
    }
}
