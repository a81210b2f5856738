//! A small certificate authority for enrolling sensors without a PKI of one's own.
//!
//! `ca init --dir D --server-name NAME...` writes `D/ca.pem`, `D/ca.key` (the CA, 10 years),
//! `D/server.pem`, `D/server.key` (the center's certificate for the given DNS names or IP
//! addresses, 2 years). `ca issue-sensor ID --dir D` writes `D/sensors/ID.pem` and
//! `D/sensors/ID.key` (client certificate with CN = ID and DNS SAN = ID, 2 years) signed by the
//! CA. Keys are ECDSA P-256, written with mode 0600.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

fn validity(p: &mut CertificateParams, days: i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let start = now - 3600;
    p.not_before =
        rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(start.max(0) as u64);
    p.not_after = p.not_before + std::time::Duration::from_secs((days * 86_400) as u64);
}

/// Writes `data` to `path` with mode `mode` (created fresh; refuses to overwrite).
fn write_new(path: &Path, data: &str, mode: u32) -> anyhow::Result<()> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(data.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Files written by [`init`].
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// CA certificate.
    pub ca_cert: PathBuf,
    /// CA key.
    pub ca_key: PathBuf,
    /// Server certificate.
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
}

/// Creates a CA and a server certificate in `dir`.
pub fn init(dir: &Path, server_names: &[String], ca_name: &str) -> anyhow::Result<CaFiles> {
    if server_names.is_empty() {
        bail!("give at least one --server-name (the DNS name or IP address sensors connect to)");
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_name);
    dn.push(DnType::OrganizationName, "tapwatch");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca, 3650);
    let ca_cert = ca.self_signed(&ca_key)?;
    let files = CaFiles {
        ca_cert: dir.join("ca.pem"),
        ca_key: dir.join("ca.key"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    };
    write_new(&files.ca_key, &ca_key.serialize_pem(), 0o600)?;
    write_new(&files.ca_cert, &ca_cert.pem(), 0o644)?;
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate()?;
    let mut sp = CertificateParams::new(Vec::<String>::new())?;
    for n in server_names {
        sp.subject_alt_names
            .push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.clone().try_into()?),
            });
    }
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, server_names[0].as_str());
    sp.distinguished_name = dn;
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut sp, 730);
    let server_cert = sp.signed_by(&server_key, &issuer)?;
    write_new(&files.server_key, &server_key.serialize_pem(), 0o600)?;
    write_new(&files.server_cert, &server_cert.pem(), 0o644)?;
    Ok(files)
}

/// A sensor id usable as a certificate name and a file name.
fn check_sensor_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        || id.starts_with(['.', '-'])
    {
        bail!("sensor id {id:?}: use 1-64 characters among a-z A-Z 0-9 . - _, not starting with . or -");
    }
    Ok(())
}

/// Issues a client certificate for sensor `id`; returns (certificate, key) paths.
pub fn issue_sensor(dir: &Path, id: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    check_sensor_id(id)?;
    let ca_pem = fs::read_to_string(dir.join("ca.pem"))
        .with_context(|| format!("reading {}/ca.pem (run `ca init` first)", dir.display()))?;
    let ca_key_pem = fs::read_to_string(dir.join("ca.key"))
        .with_context(|| format!("reading {}/ca.key", dir.display()))?;
    let ca_key = KeyPair::from_pem(&ca_key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(vec![id.to_owned()])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, id);
    p.distinguished_name = dn;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut p, 730);
    let cert = p.signed_by(&key, &issuer)?;
    let sdir = dir.join("sensors");
    fs::create_dir_all(&sdir)?;
    let (cp, kp) = (
        sdir.join(format!("{id}.pem")),
        sdir.join(format!("{id}.key")),
    );
    write_new(&kp, &key.serialize_pem(), 0o600)?;
    write_new(&cp, &cert.pem(), 0o644)?;
    Ok((cp, kp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_and_issue_give_the_sensor_identity() {
        let dir = std::env::temp_dir().join(format!("tw-ca-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        init(&dir, &["localhost".into(), "127.0.0.1".into()], "test CA").expect("init");
        let (cert, key) = issue_sensor(&dir, "sensor-a").expect("issue");
        let pem = fs::read_to_string(&cert).expect("cert");
        let der = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .expect("pem")
            .1
            .contents;
        assert_eq!(
            crate::identity::identity_from_der(&der).as_deref(),
            Ok("sensor-a")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for k in [key, dir.join("ca.key"), dir.join("server.key")] {
                assert_eq!(
                    fs::metadata(&k).expect("key").permissions().mode() & 0o777,
                    0o600
                );
            }
        }
        assert!(
            issue_sensor(&dir, "sensor-a").is_err(),
            "no silent overwrite"
        );
        assert!(issue_sensor(&dir, "../x").is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
