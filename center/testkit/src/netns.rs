//! Throwaway network namespaces for the privileged capture tests: two namespaces joined by a
//! veth pair whose ends live only inside them, removed on drop (deleting a namespace destroys
//! its veth end, and with it the pair). Nothing here touches another interface or sends to an
//! address outside the namespaces.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Prints `skipped: TEST: reason` and returns true when the test cannot run here: not root,
/// or one of `tools` (e.g. `ip`, `tcpreplay`) missing.
pub fn skip_unless_privileged(test: &str, tools: &[&str]) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    if !root {
        println!("skipped: {test}: not root");
        return true;
    }
    for tool in tools {
        // Some tools print their version on stderr and exit non-zero for `-V`: any answer
        // shows the tool is there.
        let ok = Command::new(tool)
            .arg("-V")
            .output()
            .map(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty())
            .unwrap_or(false);
        if !ok {
            println!("skipped: {test}: {tool} not found (scripts/install-deps.sh --test)");
            return true;
        }
    }
    false
}

/// Runs `cmd`; its stdout, or an error with the command, its status and stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `ip ARGS`.
pub fn ip(args: &[&str]) -> Result<String, String> {
    run(Command::new("ip").args(args))
}

/// Two namespaces `PREFIX-<pid>-<n>-a` and `-b`, and a veth pair with its end `iface_a` in
/// A and `iface_b` in B; both namespaces deleted on drop.
#[derive(Debug)]
pub struct VethPair {
    /// Namespace A's name.
    pub a: String,
    /// Namespace B's name.
    pub b: String,
}

impl VethPair {
    /// Creates the namespaces and the pair: `queues` tx and rx queues and, when given, `mtu`
    /// on both ends; links up; IPv6 off in both namespaces (the kernel then sends nothing of
    /// its own over the pair).
    pub fn new(
        prefix: &str,
        (iface_a, iface_b): (&str, &str),
        queues: u32,
        mtu: Option<u32>,
    ) -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("{prefix}-{}-{n}", std::process::id());
        let pair = Self {
            a: format!("{base}-a"),
            b: format!("{base}-b"),
        };
        ip(&["netns", "add", &pair.a])?;
        ip(&["netns", "add", &pair.b])?;
        for ns in [&pair.a, &pair.b] {
            run(Command::new("ip").args([
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]))?;
        }
        let q = queues.max(1).to_string();
        let mtu = mtu.map(|m| m.to_string());
        let end = |dev: &str, ns: &str| -> Vec<String> {
            let mut args: Vec<String> = [dev, "netns", ns, "numtxqueues", &q, "numrxqueues", &q]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if let Some(m) = &mtu {
                args.extend(["mtu".to_string(), m.clone()]);
            }
            args
        };
        let mut args: Vec<String> = vec!["link".into(), "add".into()];
        args.extend(end(iface_a, &pair.a));
        args.extend(
            ["type", "veth", "peer", "name"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.extend(end(iface_b, &pair.b));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ip(&args)?;
        for (ns, dev) in [(&pair.a, iface_a), (&pair.b, iface_b)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(pair)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}
