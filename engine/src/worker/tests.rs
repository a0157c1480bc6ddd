//! Workers end to end over in-memory devices: traffic reaches sockets in both
//! modes, classes drain in priority order, idle workers sleep, shutdown hands
//! every buffer back.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strata_l2::EthernetAddress;
use strata_pools::{Pool, PoolConfig};

use super::run::Pending;
use super::*;
use crate::dev::generator::udp_frame;
use crate::dev::{pair, Generator, GeneratorConfig, PairConfig};
use crate::stack::{StackConfig, UdpSocket};

const US4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PORT: u16 = 9000;

fn pool(name: &str) -> Pool {
    Pool::new(PoolConfig {
        frames: 2048,
        ..PoolConfig::named(name)
    })
    .unwrap()
}

/// A stack on 10.9.0.1/24 with the generator's destination MAC, and its
/// socket on port 9000.
fn new_stack(config: &WorkerConfig, pool: &Pool, name: &str) -> (Stack, UdpSocket) {
    let mut stack = Stack::new(
        StackConfig {
            name: name.to_owned(),
            mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            ipv4: vec![(US4, 24)],
            dad_transmits: 0,
            autoconf: false,
            ..StackConfig::default()
        },
        pool.clone(),
        config.now(),
    );
    let socket = stack
        .bind_udp(SocketAddr::new(US4.into(), PORT))
        .expect("bind");
    (stack, socket)
}

fn test_config(mode: Mode) -> WorkerConfig {
    WorkerConfig {
        mode,
        pinning: Pinning::Off,
        stages: crate::stats::StageConfig {
            sample_every: 1,
            classes: 1,
        },
        publish_interval: Duration::from_millis(10),
        ..WorkerConfig::default()
    }
}

/// Waits (bounded) until `done()` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// An application that drains the socket, counting datagrams and recording
/// their source ports.
fn drain_app(
    mut socket: UdpSocket,
    count: Arc<AtomicU64>,
    ports: Option<Arc<Mutex<Vec<u16>>>>,
) -> impl App {
    let mut bufs = Vec::with_capacity(64);
    move |_ctx: &mut AppContext<'_>| {
        let n = socket.recv_bufs(&mut bufs, 64);
        if let Some(ports) = &ports {
            let mut ports = ports.lock().unwrap();
            // The buffer starts at the IPv4 header (20 bytes here).
            ports.extend(
                bufs.iter()
                    .map(|b| u16::from_be_bytes([b.data()[20], b.data()[21]])),
            );
        }
        bufs.clear();
        // Release: the test thread reads the count with Acquire and then
        // the snapshot; a plain counter would do, ordering costs nothing.
        count.fetch_add(n as u64, Ordering::Release);
        n
    }
}

fn run_traffic(mode: Mode, lend: bool, frames: u64) {
    let pool = pool("worker-traffic");
    // Class rings larger than the pool: the RX thread may run ahead of the
    // worker (the pool then throttles the generator) but never drops.
    let config = WorkerConfig {
        pipeline: PipelineConfig {
            class_ring: 4096,
            ..PipelineConfig::default()
        },
        ..test_config(mode)
    };
    let (stack, socket) = new_stack(&config, &pool, "eth0");
    let generator = Generator::new(
        &GeneratorConfig {
            flows: 4,
            count: Some(frames),
            lend,
            ..GeneratorConfig::default()
        },
        pool.cache().unwrap(),
    )
    .unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let job = WorkerJob::new()
        .port(generator, stack)
        .app(drain_app(socket, Arc::clone(&count), None))
        .pool(pool.clone());
    let set = WorkerSet::spawn(config, vec![job]).unwrap();
    assert_eq!(set.mode(), mode);
    // Acquire: see the app.
    wait_for("every datagram", || count.load(Ordering::Acquire) == frames);
    let reader = set.stats().clone();
    wait_for("the statistics", || {
        reader.snapshot().protocols.udp.recv == frames
    });
    let reports = set.stop().unwrap();
    let snap = reader.snapshot();
    let iface = snap.interfaces.iter().find(|i| i.name == "eth0").unwrap();
    assert_eq!(iface.rx_packets, frames);
    let socket_stage = snap.stages.iter().find(|s| s.name == "rx_socket").unwrap();
    assert!(socket_stage.packets > 0, "rx_socket timed");
    assert!(snap.pools.iter().any(|p| p.name == "worker-traffic"));
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.counters.rx_frames, frames);
    assert_eq!(report.counters.app_items, frames);
    assert_eq!(report.ports.len(), 1);
    if mode == Mode::Pipeline {
        let rx = report.rx_counters.unwrap();
        assert_eq!(rx.rx_frames, frames);
        // Untagged, DSCP 0 → priority 0 → class 1 of 8 (802.1Q table 8-5).
        assert_eq!(rx.classified[1], frames);
        let q = snap
            .queues
            .iter()
            .find(|q| q.name == "eth0.rx" && q.class == 1)
            .unwrap();
        assert_eq!((q.enqueued, q.dequeued, q.dropped), (frames, frames, 0));
    }
    drop(reports);
    assert_eq!(pool.stats().free, pool.capacity(), "every buffer is back");
}

#[test]
fn rtc_traffic_reaches_the_socket_and_every_buffer_returns() {
    run_traffic(Mode::RunToCompletion, false, 3000);
    run_traffic(Mode::RunToCompletion, true, 1000);
}

#[test]
fn pipeline_traffic_reaches_the_socket_and_every_buffer_returns() {
    run_traffic(Mode::Pipeline, false, 3000);
    run_traffic(Mode::Pipeline, true, 1000);
}

#[test]
fn stopping_mid_traffic_frees_every_buffer() {
    for mode in [Mode::RunToCompletion, Mode::Pipeline] {
        let pool = pool("worker-midstop");
        let config = WorkerConfig {
            pipeline: PipelineConfig {
                class_ring: 64,
                ..PipelineConfig::default()
            },
            ..test_config(mode)
        };
        let (stack, socket) = new_stack(&config, &pool, "eth0");
        // Endless traffic; the socket is never drained, so its ring fills.
        let generator = Generator::new(&GeneratorConfig::default(), pool.cache().unwrap()).unwrap();
        let job = WorkerJob::new().port(generator, stack);
        let set = WorkerSet::spawn(config, vec![job]).unwrap();
        let reader = set.stats().clone();
        wait_for("some traffic", || {
            reader.snapshot().protocols.udp.recv > 100
        });
        let reports = set.stop().unwrap();
        assert!(reports[0].counters.rx_frames > 100);
        drop((reports, socket));
        assert_eq!(pool.stats().free, pool.capacity(), "{mode:?}");
    }
}

/// Frames of each PCP (priority-tagged, VLAN 0) land in their class, and
/// higher classes drain first (issue 4, "Tests: Classification").
#[test]
fn classification_by_pcp_and_strict_priority_draining() {
    let pool = pool("worker-classes");
    let config = test_config(Mode::Pipeline);
    let map = config.pipeline.map;
    let (stack, socket) = new_stack(&config, &pool, "eth0");
    let (mut peer, ours) = pair(&PairConfig::default()).unwrap();
    // 4 rounds of PCP 0..7, interleaved, all queued before the workers start:
    // the RX thread takes them in one burst of 32.
    let gen = GeneratorConfig::default();
    let mut frames = Vec::new();
    for _ in 0..4 {
        for pcp in 0..8u8 {
            let frame = tag_frame(&udp_frame(&gen, 10_000 + u16::from(pcp)), pcp, 0);
            let mut buf = pool.alloc().unwrap();
            buf.put(&frame).unwrap();
            frames.push(buf);
        }
    }
    assert_eq!(peer.tx_burst(&mut frames), 32);
    let count = Arc::new(AtomicU64::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let job = WorkerJob::new().port(ours, stack).app(drain_app(
        socket,
        Arc::clone(&count),
        Some(Arc::clone(&order)),
    ));
    let set = WorkerSet::spawn(config, vec![job]).unwrap();
    // Acquire: see the app.
    wait_for("32 datagrams", || count.load(Ordering::Acquire) == 32);
    let reader = set.stats().clone();
    let reports = set.stop().unwrap();
    let order = order.lock().unwrap().clone();
    let classes: Vec<usize> = order
        .iter()
        .map(|&port| map.class_of((port - 10_000) as u8))
        .collect();
    assert_eq!(classes.len(), 32);
    assert!(
        classes.windows(2).all(|w| w[0] >= w[1]),
        "higher classes first: {classes:?}"
    );
    // Class 7 (PCP 7) first, class 0 (PCP 1, background) last.
    assert_eq!(order[0], 10_007);
    assert_eq!(order[31], 10_001);
    let rx = reports[0].rx_counters.unwrap();
    let snap = reader.snapshot();
    for class in 0..8 {
        let pcps = (0..8u8).filter(|&p| map.class_of(p) == class).count() as u64;
        assert_eq!(rx.classified[class], 4 * pcps, "class {class}");
        let q = snap
            .queues
            .iter()
            .find(|q| q.name == "eth0.rx" && usize::from(q.class) == class)
            .unwrap();
        assert_eq!(q.enqueued, 4 * pcps);
    }
    drop((reports, peer));
    assert_eq!(pool.stats().free, pool.capacity());
}

#[test]
fn a_full_class_ring_drops_and_counts_per_class() {
    let pool = pool("worker-full");
    let config = WorkerConfig {
        pipeline: PipelineConfig {
            class_ring: 4,
            ..PipelineConfig::default()
        },
        ..test_config(Mode::Pipeline)
    };
    let (stack, socket) = new_stack(&config, &pool, "eth0");
    let (mut peer, ours) = pair(&PairConfig::default()).unwrap();
    let gen = GeneratorConfig::default();
    let mut frames: Vec<_> = (0..8)
        .map(|_| {
            let mut buf = pool.alloc().unwrap();
            buf.put(&tag_frame(&udp_frame(&gen, 10_000), 7, 0)).unwrap();
            buf
        })
        .collect();
    assert_eq!(peer.tx_burst(&mut frames), 8);
    let count = Arc::new(AtomicU64::new(0));
    let job = WorkerJob::new()
        .port(ours, stack)
        .app(drain_app(socket, Arc::clone(&count), None));
    let set = WorkerSet::spawn(config, vec![job]).unwrap();
    // Acquire: see the app.
    wait_for("4 datagrams", || count.load(Ordering::Acquire) == 4);
    let reader = set.stats().clone();
    let reports = set.stop().unwrap();
    let rx = reports[0].rx_counters.unwrap();
    assert_eq!((rx.classified[7], rx.class_dropped[7]), (4, 4));
    let q = reader
        .snapshot()
        .queues
        .into_iter()
        .find(|q| q.name == "eth0.rx" && q.class == 7)
        .unwrap();
    assert_eq!((q.enqueued, q.dropped, q.high_water), (4, 4, 4));
    drop((reports, peer));
    assert_eq!(pool.stats().free, pool.capacity());
}

/// An idle worker waits instead of spinning: under 5% of a core over a
/// second (in both modes, both threads of the pipeline).
#[test]
fn idle_workers_use_almost_no_cpu() {
    let pool = pool("worker-idle");
    let mut sets = Vec::new();
    let mut peers = Vec::new();
    for mode in [Mode::RunToCompletion, Mode::Pipeline] {
        let config = test_config(mode);
        let (stack, _) = new_stack(&config, &pool, "eth0");
        let (peer, ours) = pair(&PairConfig::default()).unwrap();
        peers.push(peer);
        let job = WorkerJob::new().port(ours, stack);
        sets.push(WorkerSet::spawn(config, vec![job]).unwrap());
    }
    std::thread::sleep(Duration::from_secs(1));
    for set in sets {
        let mode = set.mode();
        let report = set.stop().unwrap().pop().unwrap();
        let budget = Duration::from_millis(50);
        let used = report.cpu_time.expect("thread CPU time from /proc");
        eprintln!(
            "idle {mode:?}: worker {used:?}, rx thread {:?}, {} sleeps",
            report.rx_cpu_time, report.counters.sleeps
        );
        assert!(used < budget, "{mode:?} worker used {used:?} in 1 s");
        assert!(report.counters.sleeps > 0);
        if let Some(rx) = report.rx_cpu_time {
            assert!(rx < budget, "RX thread used {rx:?} in 1 s");
        }
    }
}

/// A waiting worker is woken by its waker (the eventfd), and stop is prompt
/// even with long waits configured.
#[test]
fn wakers_and_stop_interrupt_a_long_wait() {
    let pool = pool("worker-wake");
    let mut config = test_config(Mode::RunToCompletion);
    config.idle.nap = Duration::from_secs(30);
    config.idle.max_sleep = Duration::from_secs(30);
    let (stack, _) = new_stack(&config, &pool, "eth0");
    let (_peer, ours) = pair(&PairConfig::default()).unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let app_polls = Arc::clone(&polls);
    let job = WorkerJob::new()
        .port(ours, stack)
        .app(move |_: &mut AppContext<'_>| {
            // Relaxed: a counter read after a bounded wait.
            app_polls.fetch_add(1, Ordering::Relaxed);
            0
        });
    let set = WorkerSet::spawn(config, vec![job]).unwrap();
    // Let it go idle (1000 empty rounds, 100 µs), then wait.
    std::thread::sleep(Duration::from_millis(200));
    // Relaxed: see above.
    let before = polls.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(polls.load(Ordering::Relaxed), before, "asleep: no rounds");
    set.waker(0).unwrap().wake();
    wait_for("a round after the wake-up", || {
        polls.load(Ordering::Relaxed) > before
    });
    let t = Instant::now();
    let reports = set.stop().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop wakes the worker"
    );
    assert!(reports[0].counters.sleeps >= 2);
}

/// A worker asleep on an in-memory pair (waits of up to 30 s) is woken by
/// the frames its peer sends, through the pair's doorbell, in both modes.
#[test]
fn a_sleeping_worker_wakes_for_frames_from_its_pair() {
    let pool = pool("worker-doorbell");
    for mode in [Mode::RunToCompletion, Mode::Pipeline] {
        let mut config = test_config(mode);
        config.idle.nap = Duration::from_secs(30);
        config.idle.max_sleep = Duration::from_secs(30);
        let (stack, socket) = new_stack(&config, &pool, "eth0");
        let (mut peer, ours) = pair(&PairConfig::default()).unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let job =
            WorkerJob::new()
                .port(ours, stack)
                .app(drain_app(socket, Arc::clone(&count), None));
        let set = WorkerSet::spawn(config, vec![job]).unwrap();
        // Idle long enough to be asleep (1000 empty rounds, 100 µs).
        std::thread::sleep(Duration::from_millis(300));
        let gen = GeneratorConfig::default();
        for round in 1..=3u64 {
            let mut frames = vec![pool.alloc().unwrap()];
            frames[0].put(&udp_frame(&gen, 7)).unwrap();
            assert_eq!(peer.tx_burst(&mut frames), 1);
            // Acquire: see the app.
            wait_for("the datagram after the wake-up", || {
                count.load(Ordering::Acquire) == round
            });
            std::thread::sleep(Duration::from_millis(300));
        }
        let reports = set.stop().unwrap();
        let sleeps = reports[0]
            .rx_counters
            .map_or(reports[0].counters.sleeps, |rx| rx.sleeps);
        assert!(sleeps >= 3, "{mode:?}: {sleeps} sleeps");
        drop((reports, peer));
        assert_eq!(pool.stats().free, pool.capacity(), "{mode:?}");
    }
}

#[test]
fn pinning_reports_cpus_and_refuses_cpus_not_allowed() {
    let allowed = crate::cpu::allowed_cpus();
    let last = *allowed.last().unwrap();
    let pool = pool("worker-pin");
    let mut config = test_config(Mode::Pipeline);
    config.pinning = Pinning::Cpus(vec![last]);
    let (stack, _) = new_stack(&config, &pool, "eth0");
    let (_peer, ours) = pair(&PairConfig::default()).unwrap();
    let set = WorkerSet::spawn(config.clone(), vec![WorkerJob::new().port(ours, stack)]).unwrap();
    assert_eq!(
        set.placements(),
        [
            Placement {
                worker: 0,
                rx: false,
                cpu: Some(last)
            },
            Placement {
                worker: 0,
                rx: true,
                cpu: Some(last)
            }
        ]
    );
    let report = set.stop().unwrap().pop().unwrap();
    assert_eq!((report.cpu, report.rx_cpu), (Some(last), Some(last)));
    assert_eq!(report.last_cpu, Some(last), "ran where pinned");
    drop((report, _peer));

    // A CPU this process may not use: refused before any thread starts.
    config.pinning = Pinning::Cpus(vec![last, crate::cpu::MAX_CPU_ID]);
    let (stack, _) = new_stack(&config, &pool, "eth0");
    let (_peer, ours) = pair(&PairConfig::default()).unwrap();
    let err =
        WorkerSet::spawn(config.clone(), vec![WorkerJob::new().port(ours, stack)]).unwrap_err();
    assert!(
        matches!(
            err,
            WorkerError::Cpu {
                source: crate::cpu::CpuError::NotAllowed { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not available"), "{err}");
    assert_eq!(pool.stats().free, pool.capacity());
}

#[test]
fn bad_configurations_are_errors() {
    let pool = pool("worker-bad");
    let config = test_config(Mode::RunToCompletion);
    assert!(matches!(
        WorkerSet::spawn(config.clone(), Vec::new()),
        Err(WorkerError::NoJobs)
    ));
    assert!(matches!(
        WorkerSet::spawn(config.clone(), vec![WorkerJob::new()]),
        Err(WorkerError::NoPorts(0))
    ));
    let (stack, _) = new_stack(&config, &pool, "eth0");
    let (_peer, ours) = pair(&PairConfig::default()).unwrap();
    let bad = WorkerConfig {
        burst: 0,
        ..config.clone()
    };
    assert!(matches!(
        WorkerSet::spawn(bad, vec![WorkerJob::new().port(ours, stack)]),
        Err(WorkerError::Burst(0))
    ));
    let (stack, _) = new_stack(&config, &pool, "eth0");
    let (_peer, ours) = pair(&PairConfig::default()).unwrap();
    let bad = WorkerConfig {
        pipeline: PipelineConfig {
            class_ring: 1000,
            ..PipelineConfig::default()
        },
        ..test_config(Mode::Pipeline)
    };
    assert!(matches!(
        WorkerSet::spawn(bad, vec![WorkerJob::new().port(ours, stack)]),
        Err(WorkerError::Classes(_))
    ));
}

#[test]
fn two_workers_each_own_their_ports() {
    let pool = pool("worker-two");
    let config = test_config(Mode::RunToCompletion);
    let count = Arc::new(AtomicU64::new(0));
    let mut jobs = Vec::new();
    for (i, name) in ["eth0", "eth1"].into_iter().enumerate() {
        let (stack, socket) = new_stack(&config, &pool, name);
        let generator = Generator::new(
            &GeneratorConfig {
                count: Some(500 * (i as u64 + 1)),
                ..GeneratorConfig::default()
            },
            pool.cache().unwrap(),
        )
        .unwrap();
        jobs.push(WorkerJob::new().port(generator, stack).app(drain_app(
            socket,
            Arc::clone(&count),
            None,
        )));
    }
    let set = WorkerSet::spawn(config, jobs).unwrap();
    assert_eq!(set.workers(), 2);
    // Acquire: see the apps.
    wait_for("1500 datagrams", || count.load(Ordering::Acquire) == 1500);
    let reader = set.stats().clone();
    let reports = set.stop().unwrap();
    let snap = reader.snapshot();
    let rx: Vec<u64> = ["eth0", "eth1"]
        .iter()
        .map(|n| {
            snap.interfaces
                .iter()
                .find(|i| i.name == *n)
                .unwrap()
                .rx_packets
        })
        .collect();
    assert_eq!(rx, [500, 1000]);
    assert_eq!(snap.protocols.udp.recv, 1500);
    assert_eq!(reports[1].counters.rx_frames, 1000);
    drop(reports);
    assert_eq!(pool.stats().free, pool.capacity());
}

#[test]
fn refused_frames_are_retried_then_dropped() {
    let pool = pool("worker-pending");
    let knobs_retries = 2;
    let mut pending = Pending::default();
    let settle = |p: &mut Pending, moved| p.settle_with(moved, knobs_retries, 3);
    pending.bufs = (0..5).map(|_| pool.alloc().unwrap()).collect();
    // Over the cap of 3: the newest 2 go at once.
    assert_eq!(settle(&mut pending, 0), (3, 2));
    assert_eq!(settle(&mut pending, 0), (3, 0));
    // Third refusal in a row: retries spent, all dropped.
    assert_eq!(settle(&mut pending, 0), (0, 3));
    assert!(pending.bufs.is_empty());
    // Progress resets the count.
    pending.bufs = (0..2).map(|_| pool.alloc().unwrap()).collect();
    assert_eq!(settle(&mut pending, 0), (2, 0));
    assert_eq!(settle(&mut pending, 1), (2, 0));
    assert_eq!(settle(&mut pending, 0), (2, 0));
    drop(pending);
    assert_eq!(pool.stats().free, pool.capacity());
}

/// Datagrams leave by priority: a socket at priority 6 overtakes one at 0
/// sent just before it, through the stack's priority queues and, in
/// pipeline mode, the per-class TX rings (issue 4, "TX per-class rings from
/// sockets to the device").
fn tx_priorities(mode: Mode) {
    let pool = pool("worker-tx-classes");
    let config = test_config(mode);
    let map = config.pipeline.map;
    let (mut stack, low) = new_stack(&config, &pool, "eth0");
    let mut high = stack
        .bind_udp(SocketAddr::new(US4.into(), PORT + 1))
        .expect("bind");
    high.set_priority(6).unwrap();
    assert!(high.set_priority(8).is_err());
    let peer_ip = Ipv4Addr::new(10, 9, 0, 2);
    let peer_mac = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
    stack
        .insert_neighbour(config.now(), peer_ip, peer_mac)
        .unwrap();
    let (mut peer, ours) = pair(&PairConfig::default()).unwrap();
    let dst = SocketAddr::new(peer_ip.into(), 7000);
    let mut sockets = Some((low, high));
    let sent = Arc::new(AtomicU64::new(0));
    let sent_by_app = Arc::clone(&sent);
    let app = move |_ctx: &mut AppContext<'_>| {
        let Some((mut low, mut high)) = sockets.take() else {
            return 0;
        };
        for socket in [&mut low, &mut high] {
            for i in 0..8u8 {
                let mut buf = socket.alloc().unwrap();
                buf.put(&[i; 16]).unwrap();
                socket.queue_buf(buf, dst).unwrap();
            }
            socket.flush().unwrap();
        }
        // Release: the test reads it with Acquire, then the peer's frames.
        sent_by_app.store(16, Ordering::Release);
        16
    };
    let job = WorkerJob::new().port(ours, stack).app(app);
    let set = WorkerSet::spawn(config, vec![job]).unwrap();
    let mut frames = Vec::new();
    // The datagrams only (bring-up announcements go out too).
    let is_udp = |b: &strata_pools::NetBuf| b.data()[12..14] == [8, 0] && b.data()[23] == 17;
    wait_for("16 datagrams at the peer", || {
        peer.rx_burst(&mut frames, 64);
        frames.iter().filter(|b| is_udp(b)).count() >= 16
    });
    frames.retain(is_udp);
    assert_eq!(sent.load(Ordering::Acquire), 16);
    let reader = set.stats().clone();
    let reports = set.stop().unwrap();
    // Ethernet, IPv4 (20 bytes), then the UDP source port.
    let ports: Vec<u16> = frames
        .iter()
        .map(|b| u16::from_be_bytes([b.data()[34], b.data()[35]]))
        .collect();
    let mut expected = vec![PORT + 1; 8];
    expected.extend([PORT; 8]);
    assert_eq!(ports, expected, "the priority 6 socket's datagrams first");
    if mode == Mode::Pipeline {
        let snap = reader.snapshot();
        for (priority, n) in [(6u8, 8u64), (0, 8)] {
            let class = map.class_of(priority);
            let q = snap
                .queues
                .iter()
                .find(|q| q.name == "eth0.tx" && usize::from(q.class) == class)
                .expect("a TX ring per class");
            assert_eq!(q.enqueued, n, "class {class}");
        }
    }
    drop((reports, peer, frames));
    assert_eq!(pool.stats().free, pool.capacity());
}

#[test]
fn rtc_sends_higher_priorities_first() {
    tx_priorities(Mode::RunToCompletion);
}

#[test]
fn pipeline_sends_through_per_class_tx_rings() {
    tx_priorities(Mode::Pipeline);
}

/// One worker runs two interfaces (two ports, two stacks, one application
/// reading both), each counted on its own.
#[test]
fn one_worker_runs_two_interfaces() {
    let pool = pool("worker-two-ports");
    let config = test_config(Mode::RunToCompletion);
    let mut job = WorkerJob::new();
    let mut sockets = Vec::new();
    for (i, name) in ["eth0", "eth1"].into_iter().enumerate() {
        let (stack, socket) = new_stack(&config, &pool, name);
        let generator = Generator::new(
            &GeneratorConfig {
                count: Some(300 * (i as u64 + 1)),
                ..GeneratorConfig::default()
            },
            pool.cache().unwrap(),
        )
        .unwrap();
        job = job.port(generator, stack);
        sockets.push(socket);
    }
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let seen = Arc::clone(&counts);
    let mut bufs = Vec::new();
    let app = move |ctx: &mut AppContext<'_>| {
        assert_eq!(ctx.ports(), 2);
        let mut n = 0;
        for (socket, count) in sockets.iter_mut().zip(seen.iter()) {
            let k = socket.recv_bufs(&mut bufs, 64);
            bufs.clear();
            // Release: the test reads it with Acquire.
            count.fetch_add(k as u64, Ordering::Release);
            n += k;
        }
        n
    };
    let set = WorkerSet::spawn(config, vec![job.app(app)]).unwrap();
    assert_eq!(set.workers(), 1);
    // Acquire: see the application's counts.
    wait_for("900 datagrams", || {
        counts[0].load(Ordering::Acquire) + counts[1].load(Ordering::Acquire) == 900
    });
    assert_eq!(counts[0].load(Ordering::Acquire), 300);
    let reader = set.stats().clone();
    let reports = set.stop().unwrap();
    let snap = reader.snapshot();
    for (name, n) in [("eth0", 300), ("eth1", 600)] {
        let iface = snap.interfaces.iter().find(|i| i.name == name).unwrap();
        assert_eq!(iface.rx_packets, n, "{name}");
    }
    assert_eq!(reports[0].counters.rx_frames, 900);
    drop(reports);
    assert_eq!(pool.stats().free, pool.capacity());
}
