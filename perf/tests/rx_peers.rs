//! The peers of the RX-path comparison receive every frame intact (short
//! runs: correctness, not speed).

#[path = "../peers/kernel_udp.rs"]
mod kernel_udp;
#[path = "../peers/smoltcp_rx.rs"]
mod smoltcp_rx;

use std::time::Duration;

use strata_perf::rx_frames;

#[test]
fn smoltcp_receives_every_frame_intact() {
    for size in [64, 65, 1500, 1518] {
        let frames = rx_frames::udp_frames(size, 5).unwrap();
        let mut rx = smoltcp_rx::SmoltcpRx::new(&frames);
        // Bursts that do not divide evenly, and one packet alone.
        for (i, n) in [1u64, 31, 33, 100].into_iter().enumerate() {
            let before = rx.received;
            assert_eq!(rx.receive(n), n, "size {size} step {i}");
            let last = ((before + n - 1) % 5) as usize;
            assert_eq!(
                rx.last_payload(),
                &rx_frames::payload_of(last, rx_frames::payload_len(size).unwrap())[..]
            );
        }
        assert_eq!(rx.transmitted(), 0);
        let out = smoltcp_rx::run(&frames, 1000);
        assert_eq!((out.packets, out.received), (1000, 1000));
        assert!(out.ns_per_packet > 0.0 && out.lossless());
    }
}

#[test]
fn smoltcp_checks_the_udp_checksum() {
    let mut frames = rx_frames::udp_frames(64, 1).unwrap();
    *frames[0].last_mut().unwrap() ^= 0x40;
    let mut rx = smoltcp_rx::SmoltcpRx::new(&frames);
    assert_eq!(rx.receive(64), 0, "a bad checksum must be dropped");
}

#[test]
fn kernel_loopback_counts_what_arrives() {
    let cpus = strata_perf::micro::two_cpus();
    let out = kernel_udp::run(64, 20_000, Duration::from_secs(2), cpus).unwrap();
    assert!(out.sent > 0 && out.received > 0, "{out:?}");
    assert!(out.received <= out.sent && out.bad == 0, "{out:?}");
    assert!(out.mpps() > 0.0 && out.ns_per_packet().is_finite());
    assert!(kernel_udp::run(10, 1, Duration::from_secs(1), None).is_err());
}
