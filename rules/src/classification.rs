//! `classification.config`: classtype short names, their descriptions (EVE
//! `alert.category`) and default priorities (EVE `alert.severity`).

use std::collections::HashMap;

use crate::config_error::{config_lines, ConfigError};

/// One classtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// The description, exactly as Suricata writes it into `alert.category`.
    pub description: String,
    /// Default priority of rules with this classtype.
    pub priority: u8,
}

/// The classtypes known to the loader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classifications {
    classes: HashMap<String, Class>,
}

/// Suricata 8's `classification.config` (the Emerging Threats table plus
/// `inappropriate-content`): short name, description, priority.
const SURICATA_DEFAULTS: &[(&str, &str, u8)] = &[
    ("not-suspicious", "Not Suspicious Traffic", 3),
    ("unknown", "Unknown Traffic", 3),
    ("bad-unknown", "Potentially Bad Traffic", 2),
    ("attempted-recon", "Attempted Information Leak", 2),
    ("successful-recon-limited", "Information Leak", 2),
    (
        "successful-recon-largescale",
        "Large Scale Information Leak",
        2,
    ),
    ("attempted-dos", "Attempted Denial of Service", 2),
    ("successful-dos", "Denial of Service", 2),
    ("attempted-user", "Attempted User Privilege Gain", 1),
    ("unsuccessful-user", "Unsuccessful User Privilege Gain", 1),
    ("successful-user", "Successful User Privilege Gain", 1),
    (
        "attempted-admin",
        "Attempted Administrator Privilege Gain",
        1,
    ),
    (
        "successful-admin",
        "Successful Administrator Privilege Gain",
        1,
    ),
    ("rpc-portmap-decode", "Decode of an RPC Query", 2),
    ("shellcode-detect", "Executable code was detected", 1),
    ("string-detect", "A suspicious string was detected", 3),
    (
        "suspicious-filename-detect",
        "A suspicious filename was detected",
        2,
    ),
    (
        "suspicious-login",
        "An attempted login using a suspicious username was detected",
        2,
    ),
    ("system-call-detect", "A system call was detected", 2),
    ("tcp-connection", "A TCP connection was detected", 4),
    ("trojan-activity", "A Network Trojan was detected", 1),
    (
        "unusual-client-port-connection",
        "A client was using an unusual port",
        2,
    ),
    ("network-scan", "Detection of a Network Scan", 3),
    (
        "denial-of-service",
        "Detection of a Denial of Service Attack",
        2,
    ),
    (
        "non-standard-protocol",
        "Detection of a non-standard protocol or event",
        2,
    ),
    (
        "protocol-command-decode",
        "Generic Protocol Command Decode",
        3,
    ),
    (
        "web-application-activity",
        "access to a potentially vulnerable web application",
        2,
    ),
    ("web-application-attack", "Web Application Attack", 1),
    ("misc-activity", "Misc activity", 3),
    ("misc-attack", "Misc Attack", 2),
    ("icmp-event", "Generic ICMP event", 3),
    (
        "inappropriate-content",
        "Inappropriate Content was Detected",
        1,
    ),
    (
        "policy-violation",
        "Potential Corporate Privacy Violation",
        1,
    ),
    (
        "default-login-attempt",
        "Attempt to login by a default username and password",
        2,
    ),
    (
        "targeted-activity",
        "Targeted Malicious Activity was Detected",
        1,
    ),
    ("exploit-kit", "Exploit Kit Activity Detected", 1),
    (
        "external-ip-check",
        "Device Retrieving External IP Address Detected",
        2,
    ),
    ("domain-c2", "Domain Observed Used for C2 Detected", 1),
    ("pup-activity", "Possibly Unwanted Program Detected", 2),
    (
        "credential-theft",
        "Successful Credential Theft Detected",
        1,
    ),
    (
        "social-engineering",
        "Possible Social Engineering Attempted",
        2,
    ),
    ("coin-mining", "Crypto Currency Mining Activity Detected", 2),
    (
        "command-and-control",
        "Malware Command and Control Activity Detected",
        1,
    ),
];

impl Classifications {
    /// Suricata 8's default table.
    pub fn suricata_defaults() -> Self {
        let classes = SURICATA_DEFAULTS
            .iter()
            .map(|&(n, d, p)| {
                (
                    n.to_string(),
                    Class {
                        description: d.to_string(),
                        priority: p,
                    },
                )
            })
            .collect();
        Self { classes }
    }

    /// Reads a `classification.config`: `config classification: shortname,description,priority`
    /// lines, `#` comments. Every bad line is reported. A later line for the same short name
    /// replaces the earlier one, as in Suricata.
    pub fn parse(file: &str, text: &str) -> Result<Self, Vec<ConfigError>> {
        let mut out = Self::default();
        let mut errors = Vec::new();
        for (line, column, body) in config_lines(text) {
            match parse_line(&body) {
                Ok((name, class)) => {
                    out.classes.insert(name, class);
                }
                Err(message) => errors.push(ConfigError {
                    file: file.to_string(),
                    line,
                    column,
                    message,
                }),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The class called `name`.
    pub fn get(&self, name: &str) -> Option<&Class> {
        self.classes.get(name)
    }

    /// Adds or replaces a class.
    pub fn insert(&mut self, name: &str, description: &str, priority: u8) {
        self.classes.insert(
            name.to_string(),
            Class {
                description: description.to_string(),
                priority,
            },
        );
    }

    /// How many classes are known.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether no class is known.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

fn parse_line(body: &str) -> Result<(String, Class), String> {
    let rest = body
        .strip_prefix("config")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("classification"))
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or("expected 'config classification: shortname,description,priority'")?;
    let mut parts = rest.splitn(3, ',');
    let name = parts.next().unwrap_or("").trim();
    let desc = parts.next().map(str::trim);
    let prio = parts.next().map(str::trim);
    let (Some(desc), Some(prio)) = (desc, prio) else {
        return Err("expected three comma-separated fields: shortname,description,priority".into());
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err(format!("invalid classification short name '{name}'"));
    }
    let priority: u8 = prio
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid priority '{prio}' (expected 1 to 255)"))?;
    Ok((
        name.to_string(),
        Class {
            description: desc.to_string(),
            priority,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_bad_ones_with_their_place() {
        let text = "# comment\n\nconfig classification: a,Thing A, 2\n  config classification: b,B\nconfig classification:c,C,x\n";
        let errs = Classifications::parse("c.config", text).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[0].line, errs[0].column), (4, 3));
        assert!(errs[1].message.contains("priority"), "{}", errs[1]);
        let ok =
            Classifications::parse("c.config", "config classification: a,Thing A, 2\n").unwrap();
        assert_eq!(ok.get("a").unwrap().description, "Thing A");
        assert_eq!(ok.get("a").unwrap().priority, 2);
    }

    #[test]
    fn defaults_hold_suricata_texts() {
        let d = Classifications::suricata_defaults();
        assert_eq!(d.len(), 43);
        let t = d.get("trojan-activity").unwrap();
        assert_eq!(
            (t.description.as_str(), t.priority),
            ("A Network Trojan was detected", 1)
        );
        assert_eq!(d.get("tcp-connection").unwrap().priority, 4);
    }

    /// The defaults agree with the ET 2024 file (which lacks only `inappropriate-content`).
    #[test]
    fn defaults_agree_with_et_2024_classification_config() {
        let Some(dir) = crate::test_support::shared_dir() else {
            return;
        };
        let path = dir.join("corpus/rules/et-open-2024-04/classification.config");
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("skipped: {} not found", path.display());
            return;
        };
        let et = Classifications::parse("classification.config", &text).unwrap();
        let d = Classifications::suricata_defaults();
        assert_eq!(et.len() + 1, d.len());
        for (name, class) in &et.classes {
            assert_eq!(d.get(name), Some(class), "{name}");
        }
    }
}
