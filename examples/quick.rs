// The strategies are not built under `--cfg loom` (see src/lib.rs): an empty example there.
#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
use std::hint::black_box;
#[cfg(not(loom))]
use std::time::Instant;
#[cfg(not(loom))]
use swapref::strategy::{self, Strategy, Visitor};
#[cfg(not(loom))]
use swapref::swap::{SwapEntry, SwapTable, TableConfig};

#[cfg(not(loom))]
struct Q;
#[cfg(not(loom))]
impl Visitor for Q {
    type Output = f64;
    fn visit<S: Strategy>(self) -> f64 {
        let t = SwapTable::<S>::new(&TableConfig::default()).unwrap();
        t.swapon(0, 64).unwrap();
        let mut r = t.reader();
        let n = 50_000_000u64;
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..n {
            let e = SwapEntry {
                ty: 0,
                offset: (i & 63) as usize,
            };
            if let Some(d) = t.get_swap_device(&mut r, black_box(e)) {
                sum += d.read(e.offset) as u64;
            }
        }
        black_box(sum);
        let x = start.elapsed().as_nanos() as f64 / n as f64;
        std::mem::forget(t);
        x
    }
}
#[cfg(not(loom))]
fn main() {
    for _ in 0..2 {
        for i in strategy::ALL {
            println!(
                "{:16} {:.2} ns",
                i.name,
                strategy::visit(i.name, Q).unwrap()
            );
        }
    }
}
