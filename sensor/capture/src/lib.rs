//! tapwatch-capture
