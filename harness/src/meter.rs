//! What an in-process RP's call costs: the thread CPU time spent polling it, and the largest heap
//! growth within one poll, counted by [`CountingAlloc`] where the binary installs it (the
//! `eidconf` binary and the self-checks do). Synchronous work (an inflate, a decode) happens
//! inside one poll, so that is where a bomb shows; memory held across polls is not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crate::adapter::Resources;

static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

/// The system allocator, counting the bytes live per thread and their peak.
pub struct CountingAlloc;

fn grew(by: i64) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + by;
        l.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are plain thread-locals
// with const initialisers, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
            grew(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        grew(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// `inner`, with what its polls cost.
pub struct Metered<F> {
    inner: Pin<Box<F>>,
    cpu_ns: Option<u64>,
    peak: i64,
}

impl<F: Future> Metered<F> {
    pub fn new(inner: F) -> Self {
        Metered {
            inner: Box::pin(inner),
            cpu_ns: Some(0),
            peak: 0,
        }
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = (F::Output, Resources);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = LIVE.try_with(|l| l.get()).unwrap_or(0);
        let _ = PEAK.try_with(|p| p.set(start));
        let t0 = thread_cpu_ns();
        let polled = self.inner.as_mut().poll(cx);
        let spent = t0.zip(thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
        self.cpu_ns = self.cpu_ns.zip(spent).map(|(a, b)| a + b);
        let grown = PEAK.try_with(|p| p.get()).unwrap_or(start) - start;
        self.peak = self.peak.max(grown);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                let counted = INSTALLED.load(Ordering::Relaxed);
                let resources = Resources {
                    cpu_ms: self.cpu_ns.map(|n| n / 1_000_000),
                    memory_kib: counted.then_some(self.peak as u64 / 1024),
                    method: if counted {
                        "in process: thread CPU time while polling the call; the largest heap growth within one poll"
                    } else {
                        "in process: thread CPU time while polling the call; memory not measured (eidconf's counting allocator is not installed in this binary)"
                    }
                    .into(),
                };
                Poll::Ready((out, resources))
            }
        }
    }
}
