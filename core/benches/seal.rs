//! Sealing one personal value and opening it again (`crate::seal`,
//! PRODUCT.md §12.5): a review note of 60 bytes and retained coordinates
//! with their salt (32 bytes), and a data key's unwrap (once per key per
//! transaction).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fieldcheck_core::seal::{DataKey, MasterKey};

fn seal(c: &mut Criterion) {
    let key = DataKey::generate();
    let row = b"reviews\x00019c3a7e-2f1d-7c6e-9a51-3b0d7c4e8f21\x00sealed";
    let note = b"{\"note\":{\"salt\":\"9f2c\",\"value\":\"seen at the client's office\"}}";
    let coordinates = [7u8; 32];
    c.bench_function("seal a review note (60 B)", |b| {
        b.iter(|| black_box(key.seal(black_box(row), black_box(note))))
    });
    let sealed = key.seal(row, note);
    c.bench_function("open a review note (60 B)", |b| {
        b.iter(|| black_box(key.open(black_box(row), black_box(&sealed)).unwrap()))
    });
    c.bench_function("seal coordinates and salt (32 B)", |b| {
        b.iter(|| black_box(key.seal(black_box(row), black_box(&coordinates))))
    });
    let master = MasterKey::generate();
    let wrapped = master.wrap(&key, "0123456789abcdef0123456789abcdef", 1);
    c.bench_function("unwrap a data key", |b| {
        b.iter(|| {
            black_box(
                master
                    .unwrap(black_box(&wrapped), "0123456789abcdef0123456789abcdef", 1)
                    .unwrap(),
            )
        })
    });
}

criterion_group!(benches, seal);
criterion_main!(benches);
