//! tapwatch-dns
