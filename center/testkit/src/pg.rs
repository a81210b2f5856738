//! A throwaway PostgreSQL server for tests: `initdb` in a temporary directory, a unix socket
//! only (no TCP listener), run as the `postgres` user when the tests run as root (PostgreSQL
//! refuses root), stopped with `pg_ctl -m immediate` on drop. The server binaries come from
//! `TAPWATCH_PG_BIN` or Debian's `/usr/lib/postgresql/15/bin`; the test command installs them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::TempDir;

/// A throwaway PostgreSQL server (initdb in a temp dir, unix socket only), stopped on drop.
#[derive(Debug)]
pub struct Postgres {
    /// The server's directory: `data/` (the cluster), the socket and `pg.log`.
    pub dir: TempDir,
    /// The libpq connection string of database `tapwatch` as user `tapwatch`.
    pub url: String,
    bin: PathBuf,
    as_postgres: bool,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl Postgres {
    /// None (with a `skipped:` line) when the PostgreSQL server binaries are not installed.
    pub fn start() -> Option<Self> {
        let bin = std::env::var_os("TAPWATCH_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(PG_BIN));
        if !bin.join("initdb").exists() {
            println!(
                "skipped: PostgreSQL server binaries not found in {} (install package postgresql)",
                bin.display()
            );
            return None;
        }
        let dir = TempDir::new("pg");
        let data = dir.path().join("data");
        let sock = dir.path().to_path_buf();
        // PostgreSQL refuses to run as root: run it as the `postgres` user then.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false);
        if as_postgres {
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status();
            let _ = Command::new("chmod").args(["755"]).arg(dir.path()).status();
        }
        let run = |args: &[&str]| -> bool {
            let mut c = if as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]);
                c.arg(bin.join(args[0]));
                c
            } else {
                Command::new(bin.join(args[0]))
            };
            c.args(&args[1..])
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            match c.output() {
                Ok(o) if o.status.success() => true,
                Ok(o) => {
                    eprintln!("{args:?}: {}", String::from_utf8_lossy(&o.stderr));
                    false
                }
                Err(e) => {
                    eprintln!("{args:?}: {e}");
                    false
                }
            }
        };
        let data_s = data.to_string_lossy().to_string();
        let sock_s = sock.to_string_lossy().to_string();
        assert!(
            run(&[
                "initdb",
                "-D",
                &data_s,
                "-U",
                "tapwatch",
                "-A",
                "trust",
                "--no-sync"
            ]),
            "initdb failed"
        );
        let opts = format!("-k {sock_s} -c listen_addresses='' -c fsync=on");
        let log = dir.path().join("pg.log").to_string_lossy().to_string();
        assert!(
            run(&["pg_ctl", "-D", &data_s, "-l", &log, "-o", &opts, "-w", "start"]),
            "pg_ctl start failed"
        );
        assert!(
            run(&["createdb", "-h", &sock_s, "-U", "tapwatch", "tapwatch"]),
            "createdb failed"
        );
        let url = format!("host={sock_s} user=tapwatch dbname=tapwatch");
        Some(Self {
            dir,
            url,
            bin,
            as_postgres,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = c
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
