//! Exact money arithmetic against plain integer and float baselines measured in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nestegg_domain::Money;
use nestegg_domain::decimal::parse_exact;
use rust_decimal::Decimal;

const N: i64 = 100_000;

fn sums(c: &mut Criterion) {
    let cents: Vec<Money> = (0..N)
        .map(|i| Money::new(Decimal::new(i % 10_000, 2)).unwrap())
        .collect();
    let units: Vec<i64> = (0..N).map(|i| i % 10_000).collect();
    let floats: Vec<f64> = (0..N).map(|i| (i % 10_000) as f64 / 100.0).collect();
    let mut group = c.benchmark_group("sum of 100k amounts");
    group.bench_function("Money::checked_add (exact, range-checked)", |b| {
        b.iter(|| {
            black_box(&cents)
                .iter()
                .try_fold(Money::ZERO, |acc, m| acc.checked_add(*m))
                .unwrap()
        })
    });
    let decimals: Vec<Decimal> = cents.iter().map(|m| m.value()).collect();
    group.bench_function("baseline: rust_decimal sum, unchecked", |b| {
        b.iter(|| black_box(&decimals).iter().sum::<Decimal>())
    });
    group.bench_function("baseline: i64 cents", |b| {
        b.iter(|| black_box(&units).iter().sum::<i64>())
    });
    group.bench_function("baseline: f64 (inexact)", |b| {
        b.iter(|| black_box(&floats).iter().sum::<f64>())
    });
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let texts: Vec<String> = (0..1_000)
        .map(|i| format!("{}.{:02}", i * 37, i % 100))
        .collect();
    let mut group = c.benchmark_group("parse 1k amounts");
    group.bench_function("parse_exact + Money::new", |b| {
        b.iter(|| {
            for t in black_box(&texts) {
                black_box(Money::new(parse_exact(t).unwrap()).unwrap());
            }
        })
    });
    group.bench_function("baseline: str::parse::<f64>", |b| {
        b.iter(|| {
            for t in black_box(&texts) {
                black_box(t.parse::<f64>().unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, sums, parsing);
criterion_main!(benches);
