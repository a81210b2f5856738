//! tapwatch-http
