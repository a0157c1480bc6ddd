//! `strata serve` against the Linux kernel as a real peer, in network
//! namespaces the test creates and removes (also when it fails): over a TAP
//! interface (Strata and the kernel in one namespace, on the two sides of
//! the TAP), over AF_PACKET on a veth pair (each end in a namespace of its
//! own; Strata with a MAC of its own, so the interface is promiscuous), and
//! over AF_XDP on a veth pair in native and in generic XDP mode (Strata's
//! program attached through a bpf link, gone when the test's processes
//! end; the kernel computes its own UDP checksums there, since an XDP frame
//! cannot say one was left to the device).
//! The kernel pings Strata (IPv4 and IPv6), resolves it (ARP and neighbour
//! discovery), and talks UDP echo to it with `socat` (over veth its UDP
//! checksums are left to the device, and Strata's driver fills them in);
//! every frame Strata sent, captured on the kernel's side, passes `tshark`
//! with checksum validation and no expert warnings; Ctrl-C (SIGINT) stops
//! `strata serve` with every buffer back in its pool.
//!
//! Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for namespaces) and `ip`, `ping`,
//! `socat`, `tshark` (scripts/install-deps.sh installs them). Without root it
//! skips with a message; with `CI=true` it must run.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const STRATA_MAC: &str = "02:53:54:00:00:01";

/// Whether the kernel tests can run here; panics under `CI=true` when not.
fn can_run() -> bool {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let uid = Command::new("id").arg("-u").output().ok();
    let root = uid.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut missing = Vec::new();
    for tool in ["ip", "ping", "socat", "tshark", "python3", "ethtool"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            missing.push(tool);
        }
    }
    let why = if !root {
        "not root (the test creates network namespaces and a TAP interface)".to_owned()
    } else if !missing.is_empty() {
        format!(
            "missing tools: {} (scripts/install-deps.sh)",
            missing.join(", ")
        )
    } else {
        return true;
    };
    assert!(!ci, "kernel tests must run under CI=true: {why}");
    eprintln!("SKIPPED: {why}");
    false
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace that exists for the test's life: removed on drop,
/// every process still in it killed first.
struct Netns {
    name: String,
    children: Vec<Child>,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("strata-{tag}-{}", std::process::id());
        // A leftover of a killed run of the same pid: gone first.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns {
            name,
            children: Vec::new(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS`.
    fn ip(&self, args: &[&str]) -> Output {
        run(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// A command run inside the namespace.
    fn exec(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Waits (bounded) until `ip -n NS link show IF` succeeds.
    fn wait_for_link(&self, iface: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ok = Command::new("ip")
                .args(["-n", &self.name, "link", "show", iface])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{iface} never appeared in {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

impl Netns {
    /// Starts tshark capturing on `iface` into `path`, and waits (bounded)
    /// until it captures; returns its index in `children`.
    fn capture(&mut self, iface: &str, path: &std::path::Path) -> usize {
        let tshark = self
            .exec("tshark")
            .args(["-i", iface, "-q", "-w"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tshark");
        let at = self.children.len();
        self.children.push(tshark);
        // Capturing once tshark says so on stderr (bounded).
        let stderr = self.children[at].stderr.as_mut().expect("tshark stderr");
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("Capturing on") {
            assert!(Instant::now() < deadline, "tshark never started capturing");
            match stderr.read(&mut byte) {
                Ok(1) => seen.push(byte[0]),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        // dumpcap says so a moment before the first frame is caught.
        std::thread::sleep(Duration::from_secs(1));
        at
    }

    /// Starts the kernel's UDP echo service on `addr` port 7 (Python).
    fn udp_echo(&mut self, addr: &str) {
        let script = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.bind(('{addr}',7))\nwhile True:\n d,a=s.recvfrom(65535)\n s.sendto(d,a)\n"
        );
        let echo = self
            .exec("python3")
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the kernel's echo service");
        self.children.push(echo);
    }
}

/// Sends SIGINT to `child` and waits (bounded) for it to exit.
fn interrupt(child: &mut Child, what: &str) -> std::process::ExitStatus {
    run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// tshark's complaints about the frames `src_mac` sent in `capture`: expert
/// messages of warning or error severity, and checksums not verified good.
/// Returns (frames judged, their protocol stacks, complaints).
fn judge(capture: &PathBuf, src_mac: &str) -> (usize, Vec<String>, Vec<String>) {
    const STATUS: [&str; 4] = [
        "ip.checksum.status",
        "udp.checksum.status",
        "icmp.checksum.status",
        "icmpv6.checksum.status",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(capture).args([
        "-n",
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-Y",
        &format!("eth.src == {src_mac}"),
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-e",
        "frame.protocols",
        "-e",
        "_ws.expert.severity",
        "-e",
        "_ws.expert.message",
    ]);
    for field in STATUS {
        cmd.args(["-e", field]);
    }
    let out = run(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut protocols = Vec::new();
    let mut complaints = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 3 + STATUS.len(), "tshark line {line:?}");
        protocols.push(fields[0].to_owned());
        for severity in fields[1].split('|').filter(|s| !s.is_empty()) {
            // epan/proto.h: PI_WARN is 0x00600000 (a number in tshark 4.0).
            let n = severity.trim().strip_prefix("0x").map_or_else(
                || severity.trim().parse().ok(),
                |h| u32::from_str_radix(h, 16).ok(),
            );
            let bad = n.map_or_else(
                || {
                    let s = severity.to_ascii_lowercase();
                    s.starts_with("warn") || s.starts_with("error")
                },
                |n| n >= 0x0060_0000,
            );
            if bad {
                complaints.push(format!(
                    "frame {} ({}): expert: {}",
                    i + 1,
                    fields[0],
                    fields[2]
                ));
            }
        }
        for (field, statuses) in STATUS.iter().zip(&fields[3..]) {
            for status in statuses.split('|').filter(|s| !s.is_empty()) {
                if status != "1" {
                    complaints.push(format!(
                        "frame {} ({}): {field} = {status}",
                        i + 1,
                        fields[0]
                    ));
                }
            }
        }
    }
    (protocols.len(), protocols, complaints)
}

/// Where Strata runs and where the kernel is.
struct Link {
    /// The kernel's namespace.
    kernel: Netns,
    /// Strata's namespace (`None`: the kernel's, as with TAP).
    strata: Option<Netns>,
    /// The kernel's interface.
    kernel_if: &'static str,
    /// The interface Strata serves on, and with which backend.
    strata_if: &'static str,
    backend: &'static str,
    /// Flags after `--backend` (`--xdp-mode generic`).
    extra: &'static [&'static str],
}

impl Link {
    /// A TAP interface: Strata creates it in the kernel's namespace.
    fn tap() -> Link {
        Link::tap_on("tap", "stap0")
    }

    /// A TAP interface named `iface`; `tag` keeps the namespaces apart.
    fn tap_on(tag: &str, iface: &'static str) -> Link {
        Link {
            kernel: Netns::new(tag),
            strata: None,
            kernel_if: iface,
            strata_if: iface,
            backend: "tap",
            extra: &[],
        }
    }

    /// A veth pair, one end in each of two namespaces.
    fn veth() -> Link {
        Link::veth_on("afpacket", "v")
    }

    /// A veth pair, Strata on `backend`; `tag` keeps the namespaces apart.
    fn veth_on(backend: &'static str, tag: &str) -> Link {
        Link::veth_queues(backend, tag, 1)
    }

    /// A veth pair whose ends have `queues` RX and TX queues each.
    fn veth_queues(backend: &'static str, tag: &str, queues: u16) -> Link {
        let kernel = Netns::new(&format!("{tag}k"));
        let strata = Netns::new(&format!("{tag}s"));
        let q = queues.to_string();
        run(Command::new("ip").args([
            "link",
            "add",
            "svk0",
            "netns",
            &kernel.name,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            "svs0",
            "netns",
            &strata.name,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ]));
        strata.ip(&["link", "set", "svs0", "up"]);
        Link {
            kernel,
            strata: Some(strata),
            kernel_if: "svk0",
            strata_if: "svs0",
            backend,
            extra: &[],
        }
    }

    /// A veth pair, Strata on AF_XDP in `mode` (`native`, `generic`). In
    /// generic mode frames reach XDP on a veth only with GRO on.
    fn veth_xdp(mode: &'static str, tag: &str) -> Link {
        let mut link = Link::veth_on("afxdp", tag);
        link.extra = if mode == "generic" {
            &["--xdp-mode", "generic"]
        } else {
            &["--xdp-mode", "native"]
        };
        if mode == "generic" {
            let ns = link.strata_ns();
            run(ns.exec("ethtool").args(["-K", "svs0", "gro", "on"]));
        }
        link
    }

    fn strata_ns(&mut self) -> &mut Netns {
        self.strata.as_mut().unwrap_or(&mut self.kernel)
    }
}

/// The kernel pings, resolves and talks UDP echo to `strata serve` over
/// `link`; everything Strata sent is judged by tshark.
fn kernel_against_strata(mut link: Link) {
    // Named after the kernel's namespace: unique per test and process.
    let capture = std::env::temp_dir().join(format!("{}.pcapng", link.kernel.name));
    let _ = std::fs::remove_file(&capture);
    let (kernel_if, strata_if, backend, extra) =
        (link.kernel_if, link.strata_if, link.backend, link.extra);

    // Strata, on its interface, with its own addresses.
    let serve = link
        .strata_ns()
        .exec(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--iface", strata_if, "--backend", backend])
        .args(extra)
        .args([
            "--mac",
            STRATA_MAC,
            "--ip",
            "10.77.0.2/24",
            "--ip6",
            "fd77::2/64",
            "--udp-echo",
            "7",
            "--no-dad",
            "--metrics",
            "127.0.0.1:9464",
            "--duration",
            "60",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata serve");
    link.strata_ns().children.push(serve);
    // Strata's namespace needs its loopback for the exporter.
    link.strata_ns().ip(&["link", "set", "lo", "up"]);
    link.kernel.wait_for_link(kernel_if);
    let strata_ns_name = link.strata_ns().name.clone();
    let ns = &mut link.kernel;

    // The kernel's side. pnet and AF_XDP cannot see that the kernel left a
    // UDP checksum to the device (the TPACKET ring reports it; neither a
    // pnet channel nor an XDP frame does): for those backends the kernel
    // computes its checksums itself, as anyone running AF_XDP over veth must
    // ask it to.
    if backend == "afpacket-pnet" || backend == "afxdp" {
        run(ns.exec("ethtool").args(["-K", kernel_if, "tx", "off"]));
    }
    ns.ip(&["addr", "add", "10.77.0.1/24", "dev", kernel_if]);
    ns.ip(&["-6", "addr", "add", "fd77::1/64", "dev", kernel_if, "nodad"]);
    ns.ip(&["link", "set", kernel_if, "up"]);

    let tshark_at = ns.capture(kernel_if, &capture);

    // Ping, both families: every request answered.
    for (target, family) in [("10.77.0.2", "-4"), ("fd77::2", "-6")] {
        let out = run(ns
            .exec("ping")
            .args([family, "-c", "3", "-i", "0.2", "-W", "2", target]));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("3 received"), "ping {target}:\n{text}");
    }
    // ARP and neighbour discovery: the kernel learnt Strata's MAC.
    for target in ["10.77.0.2", "fd77::2"] {
        let out = ns.ip(&["neigh", "show", target, "dev", kernel_if]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("lladdr {STRATA_MAC}")),
            "neighbour {target}: {text:?}"
        );
    }
    // UDP echo through socat, both families.
    for (target, message) in [
        ("UDP4:10.77.0.2:7", "strata over udp4"),
        ("UDP6:[fd77::2]:7", "strata over udp6"),
    ] {
        let mut socat = ns
            .exec("socat")
            .args(["-T", "3", "-", target])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start socat");
        socat
            .stdin
            .take()
            .expect("socat stdin")
            .write_all(message.as_bytes())
            .expect("write to socat");
        let out = socat.wait_with_output().expect("socat");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            message,
            "echo via {target}"
        );
    }

    // The exporter, read by `strata top` inside Strata's namespace: the
    // interface and the traffic the kernel just sent.
    let top = run(Command::new("ip").args([
        "netns",
        "exec",
        &strata_ns_name,
        env!("CARGO_BIN_EXE_strata"),
        "top",
        "--url",
        "127.0.0.1:9464",
        "--interval",
        "0.2",
        "--count",
        "1",
        "--json",
    ]));
    let view: serde_json::Value =
        serde_json::from_slice(&top.stdout).expect("strata top's JSON line");
    assert_eq!(view["interfaces"][0]["name"], strata_if, "{view}");
    // Stop the capture, then Strata (as Ctrl-C does).
    let mut tshark = ns.children.remove(tshark_at);
    interrupt(&mut tshark, "tshark");
    let mut serve = link.strata_ns().children.remove(0);
    let status = interrupt(&mut serve, "strata serve");
    let mut stdout = String::new();
    serve
        .stdout
        .take()
        .expect("serve stdout")
        .read_to_string(&mut stdout)
        .expect("read serve output");
    let mut stderr = String::new();
    let _ = serve
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut stderr));
    assert!(
        status.success(),
        "strata serve exited with {status}:\n{stderr}"
    );
    let stats: serde_json::Value = serde_json::from_str(&stdout).expect("stats JSON");
    assert_eq!(stats["serve"]["buffers_home"], true, "{stdout}");
    assert_eq!(stats["serve"]["udp_echoed"], 2, "{stdout}");
    assert!(
        stats["protocols"]["icmpv4"]["recv"].as_u64() >= Some(3),
        "{stdout}"
    );
    assert!(
        stats["protocols"]["arp"]["recv"].as_u64() >= Some(1),
        "{stdout}"
    );

    if backend != "tap" {
        // The kernel's UDP over veth leaves its checksum to the device.
        assert_eq!(stats["protocols"]["udp"]["drop"], 0, "{stdout}");
    }
    if backend == "afxdp" {
        // The mode it got, said honestly: veth binds in copy mode only.
        let mode = extra[1];
        assert_eq!(
            stats["serve"]["device"],
            format!("afxdp-{mode}-copy"),
            "{stdout}"
        );
    }
    // Every frame Strata sent, judged by tshark.
    let (frames, protocols, complaints) = judge(&capture, STRATA_MAC);
    let _ = std::fs::remove_file(&capture);
    assert!(
        complaints.is_empty(),
        "tshark complains:\n{}",
        complaints.join("\n")
    );
    for wanted in ["arp", "icmp", "icmpv6", "udp"] {
        assert!(
            protocols.iter().any(|p| p.split(':').any(|x| x == wanted)),
            "no {wanted} frame from Strata among {frames}: {protocols:?}"
        );
    }
    // 3 + 3 echo replies, 2 UDP echoes, an ARP reply, a neighbour advertisement.
    assert!(frames >= 10, "{frames} frames from Strata: {protocols:?}");
}

#[test]
fn the_kernel_pings_resolves_and_talks_udp_to_strata_over_tap() {
    if can_run() {
        kernel_against_strata(Link::tap());
    }
}

#[test]
fn the_kernel_pings_resolves_and_talks_udp_to_strata_over_afpacket() {
    if can_run() {
        kernel_against_strata(Link::veth());
    }
}

#[test]
fn the_kernel_pings_resolves_and_talks_udp_to_strata_over_afpacket_pnet() {
    if can_run() {
        kernel_against_strata(Link::veth_on("afpacket-pnet", "p"));
    }
}

#[test]
fn the_kernel_pings_resolves_and_talks_udp_to_strata_over_afxdp_native() {
    if can_run() {
        kernel_against_strata(Link::veth_xdp("native", "xn"));
    }
}

#[test]
fn the_kernel_pings_resolves_and_talks_udp_to_strata_over_afxdp_generic() {
    if can_run() {
        kernel_against_strata(Link::veth_xdp("generic", "xg"));
    }
}

/// `strata serve --xdp-queues 2` on a veth with two queues: one AF_XDP
/// socket per queue, one thread polling both. The kernel sends UDP from 16
/// sockets, which its transmit hash spreads over both queues; every
/// datagram is echoed, and (native mode) both queues received.
#[test]
fn strata_serves_two_afxdp_queues() {
    if can_run() {
        serve_two_afxdp_queues("native");
    }
}

/// The same in generic XDP mode.
#[test]
fn strata_serves_two_afxdp_queues_generic() {
    if can_run() {
        serve_two_afxdp_queues("generic");
    }
}

fn serve_two_afxdp_queues(mode: &str) {
    let mut link = Link::veth_queues("afxdp", &format!("m{}", &mode[..1]), 2);
    if mode == "generic" {
        gro_on_if_generic(&["--xdp-mode", "generic"], &[(link.strata_ns(), "svs0")]);
    }
    let serve = link
        .strata_ns()
        .exec(env!("CARGO_BIN_EXE_strata"))
        .args([
            "serve",
            "--iface",
            "svs0",
            "--backend",
            "afxdp",
            "--xdp-mode",
            mode,
            "--xdp-queues",
            "2",
            "--mac",
            STRATA_MAC,
            "--ip",
            "10.77.0.2/24",
            "--udp-echo",
            "7",
            "--no-dad",
            "--duration",
            "60",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata serve");
    link.strata_ns().children.push(serve);
    let ns = &mut link.kernel;
    ns.wait_for_link("svk0");
    run(ns.exec("ethtool").args(["-K", "svk0", "tx", "off"]));
    ns.ip(&["addr", "add", "10.77.0.1/24", "dev", "svk0"]);
    ns.ip(&["link", "set", "svk0", "up"]);
    // 16 sockets, 20 datagrams each, every echo awaited (bounded).
    let script = "import socket,sys\n\
        socks=[socket.socket(socket.AF_INET,socket.SOCK_DGRAM) for _ in range(16)]\n\
        got=0\n\
        for s in socks:\n s.settimeout(2)\n\
        for i in range(20):\n\
        \x20for s in socks:\n\
        \x20 s.sendto(b'q%d' % i,('10.77.0.2',7))\n\
        \x20 try:\n\
        \x20  d,a=s.recvfrom(100)\n\
        \x20  got+= d==b'q%d' % i\n\
        \x20 except OSError: pass\n\
        print(got)\n";
    let out = run(ns.exec("python3").args(["-c", script]));
    let got: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the client's count");
    let mut serve = link.strata_ns().children.remove(0);
    let status = interrupt(&mut serve, "strata serve");
    let mut stdout = String::new();
    serve
        .stdout
        .take()
        .expect("serve stdout")
        .read_to_string(&mut stdout)
        .expect("read serve output");
    assert!(status.success(), "strata serve exited with {status}");
    assert_eq!(got, 320, "echoes the kernel got back");
    let stats: serde_json::Value = serde_json::from_str(&stdout).expect("stats JSON");
    assert_eq!(stats["serve"]["buffers_home"], true, "{stdout}");
    assert_eq!(stats["serve"]["udp_echoed"], 320, "{stdout}");
    let queues: Vec<u64> = stats["serve"]["queue_rx_packets"]
        .as_array()
        .expect("per-queue counts")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(queues.len(), 2, "{stdout}");
    // In generic mode veth hands XDP every frame as queue 0's (its skb
    // path records no receive queue): only native mode spreads them.
    if mode == "native" {
        assert!(
            queues.iter().all(|&n| n > 0),
            "both queues received: {queues:?}"
        );
    }
    assert!(queues.iter().sum::<u64>() >= 320, "{queues:?}");
}

/// Runs `strata gen` in `ns` and returns its JSON report.
fn gen(ns: &Netns, args: &[&str]) -> serde_json::Value {
    let out = run(ns
        .exec(env!("CARGO_BIN_EXE_strata"))
        .arg("gen")
        .args(args)
        .args(["--json"]));
    serde_json::from_slice(&out.stdout).expect("gen's JSON")
}

/// The generator's report of a clean run of `count` datagrams.
fn assert_clean_run(report: &serde_json::Value, count: u64, rate: f64) {
    let g = &report["gen"];
    assert_eq!(g["sent"], count, "{g}");
    assert_eq!(g["received"], count, "every echo back: {g}");
    for zero in ["lost", "duplicates", "foreign"] {
        assert_eq!(g[zero], 0, "{zero}: {g}");
    }
    assert_eq!(g["warmed_up"], true, "{g}");
    assert_eq!(g["buffers_home"], true, "{g}");
    let achieved = g["rate_achieved"].as_f64().expect("rate");
    assert!(
        (achieved / rate - 1.0).abs() < 0.05,
        "asked {rate}/s, achieved {achieved}/s: {g}"
    );
    let p50 = g["latency_ns"]["p50"].as_u64().expect("p50");
    let p99 = g["latency_ns"]["p99"].as_u64().expect("p99");
    assert!(p50 > 0 && p99 >= p50, "{g}");
}

/// `strata gen` against `strata serve`, each on its own end of a veth pair
/// in its own namespace, over AF_PACKET.
#[test]
fn strata_gen_against_strata_serve_over_a_veth_pair() {
    if can_run() {
        gen_against_serve(&["--backend", "afpacket"], "ga");
    }
}

/// The same over AF_XDP in native mode, at both ends.
#[test]
fn strata_gen_against_strata_serve_over_afxdp() {
    if can_run() {
        gen_against_serve(&["--backend", "afxdp", "--xdp-mode", "native"], "gx");
    }
}

/// The same over AF_XDP in generic mode, at both ends.
#[test]
fn strata_gen_against_strata_serve_over_afxdp_generic() {
    if can_run() {
        gen_against_serve(&["--backend", "afxdp", "--xdp-mode", "generic"], "gg");
    }
}

/// In generic mode frames reach XDP on a veth only with GRO on, switched
/// on while the link is up.
fn gro_on_if_generic(backend: &[&str], ends: &[(&Netns, &str)]) {
    if backend.contains(&"generic") {
        for (ns, iface) in ends {
            run(ns.exec("ethtool").args(["-K", iface, "gro", "on"]));
        }
    }
}

fn gen_against_serve(backend: &[&str], tag: &str) {
    let mut link = Link::veth_on("unused", tag);
    link.kernel.ip(&["link", "set", "svk0", "up"]);
    gro_on_if_generic(
        backend,
        &[
            (&link.kernel, "svk0"),
            (link.strata.as_ref().expect("strata's namespace"), "svs0"),
        ],
    );
    let serve = link
        .strata_ns()
        .exec(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--iface", "svs0"])
        .args(backend)
        .args([
            "--ip",
            "10.77.0.2/24",
            "--udp-echo",
            "7",
            "--duration",
            "60",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start strata serve");
    link.strata_ns().children.push(serve);
    let mut args = vec!["--iface", "svk0"];
    args.extend(backend);
    args.extend([
        "--ip",
        "10.77.0.1/24",
        "--dst",
        "10.77.0.2:7",
        "--size",
        "imix",
        "--rate",
        "10000",
        "--count",
        "3000",
        "--flows",
        "4",
        "--linger",
        "3",
    ]);
    let report = gen(&link.kernel, &args);
    assert_clean_run(&report, 3000, 10_000.0);
    // The IMIX: 7 × 64, 4 × 576 and 1 × 1518-byte frames, about 350 bytes on
    // average (64-byte payloads alone would be about 110).
    let bytes = report["interfaces"][0]["tx_bytes"]
        .as_u64()
        .expect("tx_bytes");
    assert!(bytes >= 3000 * 300, "{bytes} bytes sent: {report}");
    // Strata resolved Strata: one ARP request out, its reply in.
    assert!(
        report["protocols"]["arp"]["recv"].as_u64() >= Some(1),
        "{report}"
    );
}

/// `strata gen` against the kernel's UDP (a Python echo service), and
/// Strata pinging the kernel (IPv4 and IPv6), over `link`: Strata resolves
/// the kernel by ARP and neighbour discovery itself and sends at a set
/// rate; every echo comes back, and every frame Strata sent passes tshark.
fn strata_against_kernel(mut link: Link) {
    let capture = std::env::temp_dir().join(format!("{}.pcapng", link.kernel.name));
    let _ = std::fs::remove_file(&capture);
    let (kernel_if, strata_if, backend, extra) =
        (link.kernel_if, link.strata_if, link.backend, link.extra);
    let ns = &mut link.kernel;
    if backend == "tap" {
        // The TAP interface exists before the kernel's side is configured:
        // a persistent one, which `strata gen` then attaches to.
        run(Command::new("ip").args([
            "-n", &ns.name, "tuntap", "add", "dev", kernel_if, "mode", "tap",
        ]));
    }
    // As in `kernel_against_strata`: an XDP frame or a pnet channel cannot
    // carry a checksum left to the device.
    if backend == "afpacket-pnet" || backend == "afxdp" {
        run(ns.exec("ethtool").args(["-K", kernel_if, "tx", "off"]));
    }
    ns.ip(&["addr", "add", "10.77.0.1/24", "dev", kernel_if]);
    ns.ip(&["-6", "addr", "add", "fd77::1/64", "dev", kernel_if, "nodad"]);
    ns.ip(&["link", "set", kernel_if, "up"]);
    ns.udp_echo("10.77.0.1");
    let tshark_at = ns.capture(kernel_if, &capture);

    let mut link_args = vec!["--iface", strata_if, "--backend", backend];
    link_args.extend(extra);
    let strata = link.strata_ns();
    let mut args = link_args.clone();
    args.extend([
        "--mac",
        STRATA_MAC,
        "--ip",
        "10.77.0.2/24",
        "--dst",
        "10.77.0.1:7",
        "--rate",
        "2000",
        "--count",
        "1000",
        "--linger",
        "3",
    ]);
    let report = gen(strata, &args);
    assert_clean_run(&report, 1000, 2000.0);
    // Strata asked for the kernel's MAC itself.
    assert!(
        report["protocols"]["arp"]["sent"].as_u64() >= Some(1),
        "{backend}: {report}"
    );
    strata_pings_kernel(strata, &link_args);

    let mut tshark = link.kernel.children.remove(tshark_at);
    interrupt(&mut tshark, "tshark");
    let (frames, protocols, complaints) = judge(&capture, STRATA_MAC);
    let _ = std::fs::remove_file(&capture);
    assert!(
        complaints.is_empty(),
        "{backend}: tshark complains:\n{}",
        complaints.join("\n")
    );
    for p in [":arp", ":udp", ":icmp", ":icmpv6"] {
        assert!(
            protocols
                .iter()
                .any(|q| q.ends_with(p) || q.contains(&format!("{p}:"))),
            "{backend}: no {p} frame from Strata judged: {protocols:?}"
        );
    }
    // Most of the 1000 datagrams and 600 pings (the capture may miss a few
    // at its ends).
    assert!(
        frames >= 1200,
        "{backend}: {frames} frames from Strata judged"
    );
}

#[test]
fn strata_generates_to_and_pings_the_kernel_over_tap() {
    if can_run() {
        strata_against_kernel(Link::tap_on("kt", "sgen0"));
    }
}

#[test]
fn strata_generates_to_and_pings_the_kernel_over_afpacket() {
    if can_run() {
        strata_against_kernel(Link::veth_on("afpacket", "ka"));
    }
}

#[test]
fn strata_generates_to_and_pings_the_kernel_over_afxdp_native() {
    if can_run() {
        strata_against_kernel(Link::veth_xdp("native", "kn"));
    }
}

#[test]
fn strata_generates_to_and_pings_the_kernel_over_afxdp_generic() {
    if can_run() {
        strata_against_kernel(Link::veth_xdp("generic", "kg"));
    }
}

/// `strata fwd` (io mode, AF_PACKET) joins two kernels, each in its own
/// namespace on its own veth pair: the kernels ping each other through it,
/// and `strata gen` sends through it to the far kernel's echo service.
#[test]
fn strata_fwd_joins_two_kernels_and_carries_strata_gen() {
    if can_run() {
        fwd_joins_two_kernels(&["--backend", "afpacket"], "f");
    }
}

/// The same with the forwarder on AF_XDP (native): frames received into
/// the pool on one port leave from the same pool frames on the other.
#[test]
fn strata_fwd_over_afxdp_joins_two_kernels_and_carries_strata_gen() {
    if can_run() {
        fwd_joins_two_kernels(&["--backend", "afxdp", "--xdp-mode", "native"], "x");
    }
}

/// The same in generic XDP mode.
#[test]
fn strata_fwd_over_afxdp_generic_joins_two_kernels_and_carries_strata_gen() {
    if can_run() {
        fwd_joins_two_kernels(&["--backend", "afxdp", "--xdp-mode", "generic"], "y");
    }
}

fn fwd_joins_two_kernels(backend: &[&str], tag: &str) {
    let a = Netns::new(&format!("{tag}a"));
    let mut f = Netns::new(&format!("{tag}f"));
    let mut b = Netns::new(&format!("{tag}b"));
    run(Command::new("ip").args([
        "link", "add", "sfa0", "netns", &a.name, "type", "veth", "peer", "name", "sff0", "netns",
        &f.name,
    ]));
    run(Command::new("ip").args([
        "link", "add", "sff1", "netns", &f.name, "type", "veth", "peer", "name", "sfb0", "netns",
        &b.name,
    ]));
    for (ns, iface) in [(&a, "sfa0"), (&f, "sff0"), (&f, "sff1"), (&b, "sfb0")] {
        ns.ip(&["link", "set", iface, "up"]);
    }
    gro_on_if_generic(backend, &[(&f, "sff0"), (&f, "sff1")]);
    a.ip(&["addr", "add", "10.80.0.1/24", "dev", "sfa0"]);
    b.ip(&["addr", "add", "10.80.0.2/24", "dev", "sfb0"]);
    let fwd = f
        .exec(env!("CARGO_BIN_EXE_strata"))
        .args(["fwd", "--iface", "sff0", "--iface", "sff1"])
        .args(backend)
        .args(["--mode", "io", "--duration", "60", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata fwd");
    f.children.push(fwd);
    if backend.contains(&"afxdp") {
        // The echo service's UDP checksums computed by the kernel: an XDP
        // frame does not say that one was left to the device.
        run(b.exec("ethtool").args(["-K", "sfb0", "tx", "off"]));
    }
    b.udp_echo("10.80.0.2");
    // Bounded: the forwarder opens its ports within moments.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = a
            .exec("ping")
            .args(["-c", "1", "-W", "1", "10.80.0.2"])
            .output()
            .expect("ping");
        if out.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "no ping through strata fwd");
    }
    let out = run(a
        .exec("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2", "10.80.0.2"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 received"));
    let report = gen(
        &a,
        &[
            "--iface",
            "sfa0",
            "--backend",
            "afpacket",
            "--mac",
            "02:53:54:00:00:03",
            "--ip",
            "10.80.0.3/24",
            "--dst",
            "10.80.0.2:7",
            "--rate",
            "5000",
            "--count",
            "2000",
            "--linger",
            "3",
        ],
    );
    assert_clean_run(&report, 2000, 5000.0);
    let (r, stdout) = stop_fwd(&mut f);
    assert_eq!(r["fwd"]["buffers_home"], true, "{stdout}");
    // The stats JSON contract's interfaces, one per port.
    let names: Vec<&str> = r["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["sff0", "sff1"], "{stdout}");
    for port in 0..2 {
        let p = &r["fwd"]["ports"][port];
        assert!(p["tx"].as_u64() >= Some(2000), "port {port}: {p}");
        assert_eq!(p["tx_dropped"], 0, "port {port}: {p}");
    }
    drop(b);
}

/// `strata fwd --mode rxonly` over AF_XDP (native, adaptive polling) takes
/// every frame the kernel sends it, in two spells with a pause between in
/// which it sleeps (and fills its whole receive budget first), frees them
/// back through the device, and ends with every buffer home.
#[test]
fn strata_fwd_rxonly_over_afxdp_takes_every_frame_and_gives_every_buffer_back() {
    if !can_run() {
        return;
    }
    let (a, mut f, dst_mac) =
        fwd_rxonly_beside("r", &["--backend", "afxdp", "--xdp-mode", "native"]);
    for _ in 0..2 {
        live_frames(&a, "sra0", &dst_mac, "200000", 30000);
        // A pause: the receiver goes to sleep.
        std::thread::sleep(Duration::from_millis(500));
    }
    let (r, stdout) = stop_fwd(&mut f);
    let port = &r["fwd"]["ports"][0];
    // Every frame sent is accounted for: received (with at most a few of
    // the kernel's own, router and neighbour solicitations from the
    // sender's interface) or counted lost by the kernel. Frames are lost
    // only when the receiver is held off longer than its fill ring lasts
    // (4096 frames, 20 ms here: the other tests running beside this one on
    // two cores can do it).
    let rx = port["rx"].as_u64().expect("rx");
    let lost = port["rx_lost"].as_u64().expect("rx_lost");
    assert!(rx + lost >= 60000 && rx < 60100, "{stdout}");
    assert!(lost <= 6000, "{stdout}");
    assert_eq!(r["fwd"]["buffers_home"], true, "{stdout}");
}

/// A receiver held off loses what its ring has no room for, and says so:
/// `strata fwd --mode rxonly` on AF_PACKET is stopped (SIGSTOP) while
/// 200 000 frames arrive, far more than its TPACKET_V3 ring holds (64
/// blocks of 64 KiB, about 30 000 such frames); continued, it reads what
/// the ring kept, and every frame sent is received or counted lost (the
/// kernel's `tp_drops`, in the port's `rx_lost`).
#[test]
fn strata_fwd_rxonly_over_afpacket_counts_what_its_ring_had_no_room_for() {
    if !can_run() {
        return;
    }
    let (a, mut f, dst_mac) = fwd_rxonly_beside("p", &["--backend", "afpacket"]);
    let pid = f.children[0].id().to_string();
    run(Command::new("kill").args(["-STOP", &pid]));
    live_frames(&a, "spa0", &dst_mac, "1000000", 200000);
    run(Command::new("kill").args(["-CONT", &pid]));
    std::thread::sleep(Duration::from_millis(500));
    let (r, stdout) = stop_fwd(&mut f);
    let port = &r["fwd"]["ports"][0];
    let rx = port["rx"].as_u64().expect("rx");
    let lost = port["rx_lost"].as_u64().expect("rx_lost");
    // What the ring kept was read once the receiver went on; the rest was
    // counted (beside the frames sent, at most a few of the kernel's own:
    // router and neighbour solicitations from the sender's interface).
    assert!((1000..=60000).contains(&rx), "{stdout}");
    assert!(lost >= 140000, "{stdout}");
    assert!(rx + lost >= 200000 && rx + lost < 200100, "{stdout}");
    assert_eq!(r["fwd"]["buffers_home"], true, "{stdout}");
}

/// Two namespaces `{tag}a` and `{tag}f` joined by a veth pair (`s{tag}a0`,
/// `s{tag}f0`), and `strata fwd --mode rxonly` with `backend` on the `f`
/// end (`f`'s first child), started and given time to open; returns them
/// and the MAC of the receiving end.
fn fwd_rxonly_beside(tag: &str, backend: &[&str]) -> (Netns, Netns, String) {
    let a = Netns::new(&format!("{tag}a"));
    let mut f = Netns::new(&format!("{tag}f"));
    let (a_if, f_if) = (format!("s{tag}a0"), format!("s{tag}f0"));
    run(Command::new("ip").args([
        "link", "add", &a_if, "netns", &a.name, "type", "veth", "peer", "name", &f_if, "netns",
        &f.name,
    ]));
    a.ip(&["link", "set", &a_if, "up"]);
    f.ip(&["link", "set", &f_if, "up"]);
    // NAPI on the receiving end (GRO on, set while up), so frames sent
    // through XDP are received (by an XDP program or the stack).
    run(f.exec("ethtool").args(["-K", &f_if, "gro", "on"]));
    let fwd = f
        .exec(env!("CARGO_BIN_EXE_strata"))
        .args(["fwd", "--iface", &f_if])
        .args(backend)
        .args(["--mode", "rxonly", "--duration", "60", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata fwd");
    f.children.push(fwd);
    std::thread::sleep(Duration::from_millis(1500));
    let mac = mac_of(&f, &f_if);
    (a, f, mac)
}

/// `strata gen --live-frames` from `iface` in `a`: `count` 64-byte frames
/// to `dst_mac` at `rate` per second, every one of them sent.
fn live_frames(a: &Netns, iface: &str, dst_mac: &str, rate: &str, count: u64) {
    let count_text = count.to_string();
    let report = gen(
        a,
        &[
            "--live-frames",
            "--iface",
            iface,
            "--ip",
            "10.78.0.1/24",
            "--dst",
            "10.78.0.2:9",
            "--dst-mac",
            dst_mac,
            "--size",
            "18",
            "--rate",
            rate,
            "--count",
            &count_text,
        ],
    );
    assert_eq!(report["gen"]["sent"], count, "{report}");
}

/// Stops the `strata fwd --json` that is `f`'s first child with Ctrl-C:
/// it must exit cleanly; its report, parsed and as printed.
fn stop_fwd(f: &mut Netns) -> (serde_json::Value, String) {
    let mut fwd = f.children.remove(0);
    let status = interrupt(&mut fwd, "strata fwd");
    let mut stdout = String::new();
    fwd.stdout
        .take()
        .expect("fwd stdout")
        .read_to_string(&mut stdout)
        .expect("read fwd output");
    assert!(status.success(), "strata fwd exited with {status}");
    let r = serde_json::from_str(&stdout).expect("fwd JSON");
    (r, stdout)
}

/// `strata gen --icmp` from `ns` with `link_args` (interface, backend) to
/// the kernel at 10.77.0.1 and fd77::1: every echo answered, and Strata
/// resolved the kernel itself (ARP, or neighbour solicitations).
fn strata_pings_kernel(ns: &Netns, link_args: &[&str]) {
    for (dst, family) in [("10.77.0.1", "arp"), ("fd77::1", "icmpv6")] {
        let mut args = link_args.to_vec();
        args.extend([
            "--mac",
            STRATA_MAC,
            "--ip",
            "10.77.0.2/24",
            "--ip6",
            "fd77::2/64",
            "--icmp",
            "--dst",
            dst,
            "--rate",
            "1000",
            "--count",
            "300",
            "--linger",
            "3",
        ]);
        let report = gen(ns, &args);
        assert_clean_run(&report, 300, 1000.0);
        assert!(
            report["protocols"][family]["sent"].as_u64() >= Some(1),
            "{link_args:?}: {report}"
        );
    }
}

/// `strata gen --live-frames`: the kernel itself sends Strata's frame
/// through XDP live frames (no socket); the far kernel receives every one,
/// and tshark finds each well formed with good checksums. The rate is kept
/// on average over a second (20 000/s is below what the longest spin loop
/// spaces, so runs go at about 100 000/s and pause between; each run costs
/// the kernel tens of milliseconds of set-up, more on a busy machine).
#[test]
fn strata_gen_live_frames_reach_the_kernel() {
    if !can_run() {
        return;
    }
    let mut link = Link::veth_on("unused", "lf");
    let capture = std::env::temp_dir().join(format!("{}.pcapng", link.kernel.name));
    let _ = std::fs::remove_file(&capture);
    let ns = &mut link.kernel;
    ns.ip(&["addr", "add", "10.77.0.1/24", "dev", "svk0"]);
    ns.ip(&["link", "set", "svk0", "up"]);
    // Frames sent into a veth through XDP reach its peer only when the
    // peer runs NAPI: GRO on, switched on while the link is up (set while
    // it was down, Linux 6.18 did not start NAPI when it came up).
    run(ns.exec("ethtool").args(["-K", "svk0", "gro", "on"]));
    let kernel_mac = mac_of(ns, "svk0");
    let before = rx_packets(ns, "svk0");
    let tshark_at = ns.capture("svk0", &capture);
    let strata = link.strata.as_ref().expect("strata's namespace");
    let out = run(strata.exec(env!("CARGO_BIN_EXE_strata")).args([
        "gen",
        "--live-frames",
        "--iface",
        "svs0",
        "--mac",
        STRATA_MAC,
        "--ip",
        "10.77.0.2/24",
        "--dst",
        "10.77.0.1:9",
        "--dst-mac",
        &kernel_mac,
        "--size",
        "18",
        "--rate",
        "20000",
        "--count",
        "20000",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("gen's JSON");
    assert_eq!(report["gen"]["sent"], 20000, "{report}");
    let achieved = report["gen"]["rate_achieved"].as_f64().expect("rate");
    assert!(
        (achieved / 20_000.0 - 1.0).abs() < 0.1,
        "asked 20000/s, achieved {achieved}/s: {report}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let ns = &mut link.kernel;
    let received = rx_packets(ns, "svk0") - before;
    let mut tshark = ns.children.remove(tshark_at);
    interrupt(&mut tshark, "tshark");
    let nic = ns
        .exec("ethtool")
        .args(["-S", "svk0"])
        .output()
        .expect("ethtool");
    assert!(
        received >= 20000,
        "the kernel received {received} of 20000:\n{}",
        String::from_utf8_lossy(&nic.stdout)
    );
    let (frames, protocols, complaints) = judge(&capture, STRATA_MAC);
    let _ = std::fs::remove_file(&capture);
    assert!(
        complaints.is_empty(),
        "tshark complains:\n{}",
        complaints.join("\n")
    );
    assert_eq!(frames, 20000, "{protocols:?}");
    assert!(
        protocols.iter().all(|p| p.ends_with(":udp:data")),
        "{protocols:?}"
    );
}

/// Frames `iface` in `ns` received, as the kernel counts them.
fn rx_packets(ns: &Netns, iface: &str) -> u64 {
    let out = ns.ip(&["-s", "-j", "link", "show", iface]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j");
    v[0]["stats64"]["rx"]["packets"]
        .as_u64()
        .expect("rx packets")
}

/// The MAC of `iface` in `ns`.
fn mac_of(ns: &Netns, iface: &str) -> String {
    let out = ns.ip(&["-br", "link", "show", iface]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .expect("a MAC in `ip -br link show`")
        .to_owned()
}

/// `strata fwd --mode l3` routes between two kernels on two subnets, as
/// DPDK's l3fwd: static routes with the next hops' MACs; the kernels use it
/// as their gateway (a static neighbour entry each, for there is no ARP in
/// a forwarder), and the TTL the far side sees is one lower.
#[test]
fn strata_fwd_routes_ipv4_between_two_kernels() {
    if !can_run() {
        return;
    }
    let a = Netns::new("la");
    let mut f = Netns::new("lf");
    let b = Netns::new("lb");
    run(Command::new("ip").args([
        "link", "add", "sla0", "netns", &a.name, "type", "veth", "peer", "name", "slf0", "netns",
        &f.name,
    ]));
    run(Command::new("ip").args([
        "link", "add", "slf1", "netns", &f.name, "type", "veth", "peer", "name", "slb0", "netns",
        &b.name,
    ]));
    for (ns, iface) in [(&a, "sla0"), (&f, "slf0"), (&f, "slf1"), (&b, "slb0")] {
        ns.ip(&["link", "set", iface, "up"]);
    }
    let (a_mac, b_mac) = (mac_of(&a, "sla0"), mac_of(&b, "slb0"));
    let (f0_mac, f1_mac) = (mac_of(&f, "slf0"), mac_of(&f, "slf1"));
    a.ip(&["addr", "add", "10.81.1.1/24", "dev", "sla0"]);
    b.ip(&["addr", "add", "10.81.2.1/24", "dev", "slb0"]);
    // Strata's ports are each kernel's gateway (.254), reached by MAC.
    a.ip(&[
        "neigh",
        "add",
        "10.81.1.254",
        "lladdr",
        &f0_mac,
        "dev",
        "sla0",
        "nud",
        "permanent",
    ]);
    b.ip(&[
        "neigh",
        "add",
        "10.81.2.254",
        "lladdr",
        &f1_mac,
        "dev",
        "slb0",
        "nud",
        "permanent",
    ]);
    a.ip(&["route", "add", "10.81.2.0/24", "via", "10.81.1.254"]);
    b.ip(&["route", "add", "10.81.1.0/24", "via", "10.81.2.254"]);
    let to_b = format!("10.81.2.0/24=1,{b_mac}");
    let to_a = format!("10.81.1.0/24=0,{a_mac}");
    let fwd = f
        .exec(env!("CARGO_BIN_EXE_strata"))
        .args([
            "fwd",
            "--iface",
            "slf0",
            "--iface",
            "slf1",
            "--backend",
            "afpacket",
            "--mode",
            "l3",
            "--route",
            &to_b,
            "--route",
            &to_a,
            "--duration",
            "60",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata fwd");
    f.children.push(fwd);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a
        .exec("ping")
        .args(["-c", "1", "-W", "1", "10.81.2.1"])
        .output()
        .expect("ping")
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "no ping routed by strata fwd");
    }
    let out = run(a
        .exec("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2", "10.81.2.1"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 received"), "{text}");
    // B answered with TTL 64; one hop through Strata makes it 63.
    assert!(text.contains("ttl=63"), "one routed hop: {text}");
    let (r, stdout) = stop_fwd(&mut f);
    assert_eq!(r["fwd"]["mode"], "l3");
    assert_eq!(r["fwd"]["l3_drops"]["bad_header"], 0, "{stdout}");
    assert_eq!(r["fwd"]["buffers_home"], true, "{stdout}");
    drop((a, b));
}
