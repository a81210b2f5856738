//! tapwatch-center: the national center that receives alerts from tapwatch sensors.
//!
//! - [`server`]: the gRPC `SensorLink` server (mutual TLS, identity checks, bounded decoding,
//!   dedup by (sensor, seq), Ack after commit);
//! - [`store`]: storage behind the [`store::Store`] trait, SQLite or PostgreSQL;
//! - [`api`]: the HTTP JSON API; [`query`]: query arguments and output formats;
//!   [`stix`]: STIX 2.1 export; [`ca`]: certificates for enrolment; [`config`]: the TOML file;
//! - [`bundles`]: signed rule and IOC bundles (keys, build, sign, publish, list).

pub mod api;
pub mod bundles;
pub mod ca;
pub mod config;
pub mod identity;
pub mod log;
pub mod query;
pub mod server;
pub mod stix;
pub mod store;
