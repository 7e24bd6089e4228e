//! Stop the world: the handshake between the collector and the threads
//! attached to the heap (free-threaded CPython's `_PyEval_StopTheWorld`).
//!
//! Every thread that uses the heap is registered here and is, at any time,
//! in one of three states, changed only under [`World`]'s mutex:
//!
//! * **Attached**: it may touch objects (counts, values, allocation);
//! * **Detached**: inside [`crate::detached`] (or waiting for a contended
//!   [`crate::GcMutex`]); it touches no count and counts as stopped;
//! * **Parked**: at a safe point, waiting for the collection to end.
//!
//! The collector sets `stopping`, raises the stop bit of every thread's
//! breaker word (the hint each thread reads at its safe points with one
//! relaxed load), and waits until no other thread is Attached. A thread
//! leaves Parked or Detached only under the mutex and only when no stop is
//! pending. Everything a thread did before it parked or detached therefore
//! happens before the collector's next acquisition of the mutex, and
//! everything the collector did before it restarts the world happens
//! before the thread's return to Attached: the mutex is the whole ordering
//! argument (`docs/design/sync.md`, "The handshake"), and the breaker bit
//! only decides how soon a thread notices.
//!
//! The collector waits with a deadline: past `warn_after` it reports the
//! threads it waits for, past `give_up_after` it cancels the stop and the
//! collection is skipped, so a thread that never reaches a safe point
//! delays collections but deadlocks nobody.

#[cfg(not(loom))]
pub(crate) mod thread;

use crate::sync::{lock, wait, wait_timeout, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Breaker bit: a stop is pending, park at the next safe point.
pub const STOP_BIT: usize = 1;
/// Breaker bit: the merge queue has entries.
#[cfg_attr(loom, allow(dead_code))]
pub const MERGE_BIT: usize = 2;

/// What a registered thread is doing, as far as the collector is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// Running code that may touch the heap.
    Attached,
    /// In a detached scope: touches no object, counts as stopped.
    Detached,
    /// Stopped at a safe point for a collection.
    Parked,
}

#[derive(Debug)]
struct Slot {
    id: usize,
    name: String,
    state: ThreadState,
    breaker: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
struct State {
    slots: Vec<Slot>,
    /// The thread that is stopping (or has stopped) the world.
    stopping: Option<usize>,
    /// Whether every other thread is stopped (the collector may proceed).
    stopped: bool,
    /// Threads without a slot (their thread-local state is gone: thread
    /// exit) that are touching the heap right now.
    anonymous: usize,
    /// Counts restarts (diagnostics and the loom models).
    epoch: u64,
}

/// How long the collector waits for threads to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPolicy {
    /// Report the threads still running after this long (`None`: never).
    pub warn_after: Option<Duration>,
    /// Cancel the stop (the collection is skipped) after this long
    /// (`None`: wait for ever).
    pub give_up_after: Option<Duration>,
}

impl Default for StopPolicy {
    fn default() -> Self {
        StopPolicy { warn_after: Some(Duration::from_secs(1)), give_up_after: Some(Duration::from_secs(10)) }
    }
}

/// A stop that did not complete: the threads that never reached a safe
/// point, by name (`thread-<id>` for unnamed threads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopTimeout {
    /// The threads still attached when the collector gave up.
    pub waiting_on: Vec<String>,
}

impl std::fmt::Display for StopTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the world did not stop: still running: {}", self.waiting_on.join(", "))
    }
}

impl std::error::Error for StopTimeout {}

/// The registry of attached threads and the stop protocol.
#[derive(Debug)]
pub struct World {
    state: Mutex<State>,
    changed: Condvar,
}

impl World {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        World {
            state: Mutex::new(State {
                slots: Vec::new(),
                stopping: None,
                stopped: false,
                anonymous: 0,
                epoch: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// A world (loom's primitives are not `const`).
    #[allow(clippy::new_without_default)]
    #[cfg(loom)]
    pub fn new() -> Self {
        World { state: Mutex::new(State::default()), changed: Condvar::new() }
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        wait(&self.changed, g)
    }

    /// Waits while another thread stops the world (`me` may enter).
    fn wait_for_restart<'a>(&self, mut g: MutexGuard<'a, State>, me: usize) -> MutexGuard<'a, State> {
        while g.stopping.is_some_and(|c| c != me) {
            g = self.wait(g);
        }
        g
    }

    /// Registers thread `id`, Attached (after any stop in progress).
    pub fn register(&self, id: usize, name: String, breaker: Arc<AtomicUsize>) {
        let g = lock(&self.state);
        let mut g = self.wait_for_restart(g, id);
        g.slots.push(Slot { id, name, state: ThreadState::Attached, breaker });
    }

    /// Removes thread `id` (it exits; it must be Attached).
    pub fn unregister(&self, id: usize) {
        let mut g = lock(&self.state);
        g.slots.retain(|s| s.id != id);
        drop(g);
        self.changed.notify_all();
    }

    fn set_state(g: &mut State, id: usize, st: ThreadState) {
        if let Some(s) = g.slots.iter_mut().find(|s| s.id == id) {
            s.state = st;
        }
    }

    /// Thread `id` stops touching the heap: it counts as stopped.
    pub fn detach(&self, id: usize) {
        let mut g = lock(&self.state);
        Self::set_state(&mut g, id, ThreadState::Detached);
        drop(g);
        self.changed.notify_all();
    }

    /// Thread `id` comes back, after any stop in progress.
    pub fn attach(&self, id: usize) {
        let g = lock(&self.state);
        let mut g = self.wait_for_restart(g, id);
        Self::set_state(&mut g, id, ThreadState::Attached);
    }

    /// A thread without a slot starts touching the heap.
    pub fn attach_anonymous(&self) {
        let g = lock(&self.state);
        let mut g = self.wait_for_restart(g, usize::MAX);
        g.anonymous += 1;
    }

    /// A thread without a slot stops touching the heap.
    pub fn detach_anonymous(&self) {
        let mut g = lock(&self.state);
        g.anonymous -= 1;
        drop(g);
        self.changed.notify_all();
    }

    /// Thread `id` is at a safe point and saw the stop bit: park until the
    /// world restarts. Returns at once if no stop is pending.
    pub fn park(&self, id: usize) {
        let mut g = lock(&self.state);
        if g.stopping.is_none() || g.stopping == Some(id) {
            return;
        }
        Self::set_state(&mut g, id, ThreadState::Parked);
        self.changed.notify_all();
        // Wait until no stop is pending at all, not merely until this one
        // ended: a collector that starts a new stop before we wake counts us
        // as stopped (we are still Parked), so we must stay parked through
        // its stop too. (The first version left on the epoch change and ran
        // through the next collector's stop: the stress test and loom's
        // two-collector model both catch that.)
        while g.stopping.is_some() {
            g = self.wait(g);
        }
        Self::set_state(&mut g, id, ThreadState::Attached);
    }

    fn running_others(g: &State, me: usize) -> impl Iterator<Item = &Slot> {
        g.slots.iter().filter(move |s| s.id != me && s.state == ThreadState::Attached)
    }

    /// Stops every other registered thread (`me` must be Attached and the
    /// only collector: the caller holds the collection role). `on_warn` is
    /// called once, without the lock, with the threads still running after
    /// `policy.warn_after`.
    pub fn stop(
        &self,
        me: usize,
        policy: StopPolicy,
        on_warn: &mut dyn FnMut(&[String]),
    ) -> Result<(), StopTimeout> {
        let start = Instant::now();
        let mut g = lock(&self.state);
        debug_assert!(g.stopping.is_none(), "two collectors");
        g.stopping = Some(me);
        for s in g.slots.iter().filter(|s| s.id != me) {
            s.breaker.fetch_or(STOP_BIT, Relaxed);
        }
        let mut warned = policy.warn_after.is_none();
        loop {
            if g.anonymous == 0 && Self::running_others(&g, me).next().is_none() {
                g.stopped = true;
                return Ok(());
            }
            let elapsed = start.elapsed();
            if !warned && policy.warn_after.is_some_and(|w| elapsed >= w) {
                warned = true;
                let names = Self::names_running(&g, me);
                drop(g);
                on_warn(&names);
                g = lock(&self.state);
                continue;
            }
            if policy.give_up_after.is_some_and(|d| elapsed >= d) {
                let waiting_on = Self::names_running(&g, me);
                self.restart_locked(&mut g);
                drop(g);
                self.changed.notify_all();
                return Err(StopTimeout { waiting_on });
            }
            let next = [policy.warn_after.filter(|_| !warned), policy.give_up_after]
                .into_iter()
                .flatten()
                .min()
                .map(|d| d.saturating_sub(elapsed));
            g = match next {
                None => self.wait(g),
                Some(d) => wait_timeout(&self.changed, g, d.max(Duration::from_millis(1))),
            };
        }
    }

    fn names_running(g: &State, me: usize) -> Vec<String> {
        let mut v: Vec<String> = Self::running_others(g, me).map(|s| s.name.clone()).collect();
        if g.anonymous > 0 {
            v.push(format!("{} exiting thread(s)", g.anonymous));
        }
        v
    }

    fn restart_locked(&self, g: &mut State) {
        g.stopping = None;
        g.stopped = false;
        g.epoch += 1;
        for s in &g.slots {
            s.breaker.fetch_and(!STOP_BIT, Relaxed);
        }
    }

    /// Restarts the world stopped by [`World::stop`].
    pub fn restart(&self) {
        let mut g = lock(&self.state);
        self.restart_locked(&mut g);
        drop(g);
        self.changed.notify_all();
    }

    /// The threads a pending stop still waits for (empty when none is
    /// pending or all have stopped).
    pub fn waiting_on(&self) -> Vec<String> {
        let g = lock(&self.state);
        match g.stopping {
            Some(me) if !g.stopped => Self::names_running(&g, me),
            _ => Vec::new(),
        }
    }

    /// Every registered thread and its state.
    pub fn threads(&self) -> Vec<(String, ThreadState)> {
        lock(&self.state).slots.iter().map(|s| (s.name.clone(), s.state)).collect()
    }

    /// Whether the world is stopped by `me` (debug checks).
    #[allow(dead_code)]
    pub fn is_stopped_by(&self, me: usize) -> bool {
        let g = lock(&self.state);
        g.stopping == Some(me) && g.stopped
    }
}
