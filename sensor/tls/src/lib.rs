//! tapwatch-tls
