//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...): Suricata's defaults, values from the
//! configuration or command line, expanded when a rule uses them.
//!
//! Address groups and port groups share one namespace here (Suricata's default names never
//! clash); a value is parsed as an address or a port expression depending on where the
//! variable is used. Expansion is recursive, with loop detection and a depth limit; a rule
//! that uses an undefined variable is rejected.

use std::collections::BTreeMap;

/// Variable values, by name (without the `$`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

/// Suricata 8's `suricata.yaml` address groups.
const ADDRESS_GROUPS: &[(&str, &str)] = &[
    ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
    ("ENIP_SERVER", "$HOME_NET"),
];

/// Suricata 8's `suricata.yaml` port groups.
const PORT_GROUPS: &[(&str, &str)] = &[
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
];

impl Vars {
    /// Suricata 8's default address and port groups.
    pub fn suricata_defaults() -> Self {
        let values = ADDRESS_GROUPS
            .iter()
            .chain(PORT_GROUPS)
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self { values }
    }

    /// Sets (or replaces) a variable; a leading `$` on the name is dropped.
    pub fn set(&mut self, name: &str, value: &str) {
        let name = name.trim();
        let name = name.strip_prefix('$').unwrap_or(name);
        self.values
            .insert(name.to_string(), value.trim().to_string());
    }

    /// Applies a `NAME=VALUE` assignment (the command line's `--var`).
    pub fn set_assignment(&mut self, assignment: &str) -> Result<(), String> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=VALUE, found '{assignment}'"))?;
        let n = name.trim();
        let n = n.strip_prefix('$').unwrap_or(n);
        if !crate::parse::valid_var_name(n) {
            return Err(format!("invalid variable name '{name}'"));
        }
        if value.trim().is_empty() {
            return Err(format!("variable {n} has an empty value"));
        }
        self.set(n, value);
        Ok(())
    }

    /// The value of `name`, as written.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every variable, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_assignments() {
        let mut v = Vars::suricata_defaults();
        assert_eq!(v.get("EXTERNAL_NET"), Some("!$HOME_NET"));
        assert_eq!(v.get("TEREDO_PORTS"), Some("3544"));
        v.set_assignment("HOME_NET=[10.0.0.0/8]").unwrap();
        assert_eq!(v.get("HOME_NET"), Some("[10.0.0.0/8]"));
        v.set_assignment("$X = 1.2.3.4").unwrap();
        assert_eq!(v.get("X"), Some("1.2.3.4"));
        assert!(v.set_assignment("novalue").is_err());
        assert!(v.set_assignment("A B=1").is_err());
        assert!(v.set_assignment("A=").is_err());
    }
}
